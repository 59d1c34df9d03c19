import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Client } from 'pg';

/**
 * Each tool's own run, as the test's stand-in for its CLI (none of them installs here without downloading a binary):
 * the fixture's scripts sent in the tool's order, the way the tool sends them, and its history table created and
 * filled as the tool's source does it (the file named on each). Independent of dbee's readers: the scripts are read
 * here with the tool's own rules, and the checksums made with other code (zlib's CRC32 for Flyway).
 */
export const FIXTURES = join(__dirname, '..', 'fixtures', 'import');

export interface ToolRun {
  /** The migrations in the tool's order: what it sends for each, and the history rows it writes after it. */
  migrations: { sql: string[]; history: string[] }[];
  /** The history table's DDL, as the tool creates it before the first migration. */
  ddl: string[];
  /** The history after the tool ran the first `n` migrations, when the tool keeps one row for all (golang-migrate). */
  state?: (n: number) => string[];
}

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Run the tool's first `n` migrations (all by default) on `url`, with its history. */
export async function toolMigrates(url: string, run: ToolRun, n = run.migrations.length): Promise<void> {
  await withClient(url, async (c) => {
    for (const s of run.ddl) await c.query(s);
    for (const m of run.migrations.slice(0, n)) {
      for (const s of m.sql) await c.query(s);
      for (const h of m.history) await c.query(h);
    }
    for (const s of run.state?.(n) ?? []) await c.query(s);
  });
}

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * Flyway (flyway-core `JdbcTableSchemaHistory`, PostgreSQL's `createSchemaHistoryTable.sql`): one row per migration,
 * `checksum` the CRC32 of the script's lines without their line breaks, as a signed int (`ChecksumCalculator`).
 */
export function flywayRun(
  files: { file: string; version: string; description: string; text?: string }[],
  folder: string,
): ToolRun {
  return {
    ddl: [
      `CREATE TABLE "public"."flyway_schema_history" ("installed_rank" INT NOT NULL, "version" VARCHAR(50), "description" VARCHAR(200) NOT NULL, "type" VARCHAR(20) NOT NULL, "script" VARCHAR(1000) NOT NULL, "checksum" INTEGER, "installed_by" VARCHAR(100) NOT NULL, "installed_on" TIMESTAMP NOT NULL DEFAULT now(), "execution_time" INTEGER NOT NULL, "success" BOOLEAN NOT NULL)`,
      `ALTER TABLE "public"."flyway_schema_history" ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank")`,
      `CREATE INDEX "flyway_schema_history_s_idx" ON "public"."flyway_schema_history" ("success")`,
    ],
    migrations: files.map((f, i) => {
      const raw = readFileSync(join(folder, f.file), 'utf8');
      const checksum = crc32(Buffer.from(raw.split(/\r\n|\r|\n/).join(''), 'utf8')) | 0;
      return {
        sql: [f.text ?? raw],
        history: [
          `INSERT INTO "public"."flyway_schema_history" VALUES (${i + 1}, ${lit(f.version)}, ${lit(f.description)}, 'SQL', ${lit(f.file)}, ${checksum}, 'postgres', now(), 3, true)`,
        ],
      };
    }),
  };
}

/** golang-migrate (database/postgres/postgres.go `ensureVersionTable`, `SetVersion`): one row, the current version. */
export function golangMigrateRun(folder: string): ToolRun {
  const ups = readdirSync(folder)
    .filter((f) => f.endsWith('.up.sql'))
    .sort((a, b) => Number(a.split('_')[0]) - Number(b.split('_')[0]));
  return {
    ddl: [
      'CREATE TABLE IF NOT EXISTS "schema_migrations" (version bigint not null primary key, dirty boolean not null)',
    ],
    migrations: ups.map((f) => ({ sql: [readFileSync(join(folder, f), 'utf8')], history: [] })),
    state: (n) =>
      n
        ? [
            'TRUNCATE "schema_migrations"',
            `INSERT INTO "schema_migrations" (version, dirty) VALUES (${ups[n - 1]!.split('_')[0]}, false)`,
          ]
        : [],
  };
}

/** goose (internal/dialects/postgres.go): `goose_db_version`, a row 0 first, then one per migration up. */
export function gooseRun(folder: string): ToolRun {
  const files = readdirSync(folder)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  return {
    ddl: [
      'CREATE TABLE goose_db_version (id serial NOT NULL, version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp NULL default now(), PRIMARY KEY(id))',
      'INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true)',
    ],
    migrations: files.map((f) => {
      const text = readFileSync(join(folder, f), 'utf8');
      const up = text.split(/^--\s*\+goose\s+down\s*$/im)[0]!.split(/^--\s*\+goose\s+up\s*$/im)[1] ?? '';
      // goose sends each statement by itself; one between StatementBegin/End is one statement.
      const body = up.replace(/^--\s*\+goose.*$/gim, '');
      return {
        sql: body.trim() ? [body] : [],
        history: [`INSERT INTO goose_db_version (version_id, is_applied) VALUES (${Number(f.split('_')[0])}, true)`],
      };
    }),
  };
}

/** dbmate (pkg/driver/postgres/postgres.go `CreateMigrationsTable`, `InsertMigration`). */
export function dbmateRun(folder: string): ToolRun {
  const files = readdirSync(folder)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  return {
    ddl: ['create table if not exists "public"."schema_migrations" (version varchar primary key)'],
    migrations: files.map((f) => {
      const text = readFileSync(join(folder, f), 'utf8');
      const up = text.split(/^--\s*migrate:down.*$/m)[0]!.split(/^--\s*migrate:up.*$/m)[1] ?? '';
      return {
        sql: [up],
        history: [`insert into "public"."schema_migrations" (version) values (${lit(f.split('_')[0]!)})`],
      };
    }),
  };
}

/**
 * Prisma (prisma-engines, schema-engine `sql_schema_connector` `create_migrations_table`, `record_migration_started`,
 * `record_successful_step`, `record_migration_finished`): checksum the SHA-256 (hex) of migration.sql.
 */
export function prismaRun(folder: string): ToolRun {
  const dirs = readdirSync(folder, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return {
    ddl: [
      'CREATE TABLE "_prisma_migrations" ("id" VARCHAR(36) PRIMARY KEY NOT NULL, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ, "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ, "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), "applied_steps_count" INTEGER NOT NULL DEFAULT 0)',
    ],
    migrations: dirs.map((d, i) => {
      const script = readFileSync(join(folder, d, 'migration.sql'), 'utf8');
      const sum = createHash('sha256').update(script).digest('hex');
      return {
        sql: [script],
        history: [
          `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count) VALUES ('00000000-0000-0000-0000-${String(i).padStart(12, '0')}', ${lit(sum)}, ${lit(d)}, now(), now(), 1)`,
        ],
      };
    }),
  };
}

/**
 * Drizzle (drizzle-orm `pg-core/dialect.ts` `migrate`): `drizzle.__drizzle_migrations`, `hash` the SHA-256 of the
 * file, `created_at` the journal's `when`; statements split on `--> statement-breakpoint`.
 */
export function drizzleRun(folder: string): ToolRun {
  const journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8')) as {
    entries: { when: number; tag: string }[];
  };
  return {
    ddl: [
      'CREATE SCHEMA IF NOT EXISTS "drizzle"',
      'CREATE TABLE IF NOT EXISTS "drizzle"."__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)',
    ],
    migrations: journal.entries.map((e) => {
      const text = readFileSync(join(folder, `${e.tag}.sql`), 'utf8');
      return {
        sql: text.split('--> statement-breakpoint'),
        history: [
          `insert into "drizzle"."__drizzle_migrations" ("hash", "created_at") values(${lit(createHash('sha256').update(text).digest('hex'))}, ${e.when})`,
        ],
      };
    }),
  };
}

/** `pg_dump --schema-only` of `schema` without the tools' history tables, comments, SET lines and \restrict keys. */
export function dump(url: string, schema: string, exclude: string[] = []): string {
  const args = [
    '--schema-only',
    '--no-owner',
    `--schema=${schema}`,
    ...exclude.map((t) => `--exclude-table=${t}`),
    url,
  ];
  return execFileSync('pg_dump', args, { encoding: 'utf8' })
    .split('\n')
    .filter(
      (l) =>
        !l.startsWith('--') &&
        !l.startsWith('SET ') &&
        !l.startsWith('SELECT pg_catalog.set_config') &&
        !/^\\(un)?restrict /.test(l),
    )
    .join('\n')
    .replace(/\n{2,}/g, '\n\n');
}

/** A copy of a fixture folder into the workspace (the import reads it there, as a team's checkout). */
export function copyFixture(from: string, to: string): void {
  cpSync(join(FIXTURES, from), to, { recursive: true });
}

/** Sqitch's change id (App::Sqitch::Plan::Change `info` and `id`), written again here from Sqitch's source. */
function sqitchId(lines: string[]): string {
  const content = Buffer.from(lines.join('\n'), 'utf8');
  return createHash('sha1')
    .update(Buffer.concat([Buffer.from(`change ${content.length}\0`), content]))
    .digest('hex');
}

/**
 * Sqitch (lib/App/Sqitch/Engine/pg.sql, `Engine::pg` `log_deploy_change`): the `sqitch` schema's `changes` table, one
 * row per deployed change with its id and `script_hash` (SHA-1 of the deploy script); the scripts sent whole (psql),
 * in the plan's order, the reworked change's earlier version from its `@tag` script.
 */
export function sqitchRun(folder: string): ToolRun {
  const plan = readFileSync(join(folder, 'sqitch.plan'), 'utf8').split('\n');
  const uri = plan.find((l) => l.startsWith('%uri='))!.slice(5);
  const changes = plan
    .filter((l) => /^[a-z]/.test(l))
    .map((l) => {
      const m = /^(\S+)(?: \[([^\]]*)\])? (\S+Z) (.+?) <([^>]+)>\s*# ?(.*)$/.exec(l)!;
      return { name: m[1]!, deps: m[2] ? m[2].split(' ') : [], ts: m[3]!, planner: `${m[4]} <${m[5]}>`, note: m[6]! };
    });
  const reworked = new Set(['insert_user', 'change_pass']);
  const seen = new Set<string>();
  let parent: string | null = null;
  const migrations = changes.map((c) => {
    const file = reworked.has(c.name) && !seen.has(c.name) ? `${c.name}@v1.0.0-dev2.sql` : `${c.name}.sql`;
    seen.add(c.name);
    const id = sqitchId([
      'project flipr',
      `uri ${uri}`,
      `change ${c.name}`,
      ...(parent ? [`parent ${parent}`] : []),
      `planner ${c.planner}`,
      `date ${c.ts}`,
      ...(c.deps.length ? [`requires\n  + ${c.deps.join('\n  + ')}`] : []),
      ...(c.note ? ['', c.note] : []),
    ]);
    parent = id;
    const script = readFileSync(join(folder, 'deploy', file));
    const hash = createHash('sha1').update(script).digest('hex');
    return {
      sql: [script.toString('utf8')],
      history: [
        `INSERT INTO sqitch.changes (change_id, script_hash, change, project, note, committer_name, committer_email, planned_at, planner_name, planner_email) VALUES (${lit(id)}, ${lit(hash)}, ${lit(c.name)}, 'flipr', ${lit(c.note)}, 'Marge', 'marge@example.com', ${lit(c.ts)}, 'Marge', 'marge@example.com')`,
      ],
    };
  });
  return {
    ddl: [
      'CREATE SCHEMA sqitch',
      'CREATE TABLE sqitch.projects (project TEXT PRIMARY KEY, uri TEXT NULL UNIQUE, created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(), creator_name TEXT NOT NULL, creator_email TEXT NOT NULL)',
      "INSERT INTO sqitch.projects (project, uri, creator_name, creator_email) VALUES ('flipr', " +
        lit(uri) +
        ", 'Marge', 'marge@example.com')",
      "CREATE TABLE sqitch.changes (change_id TEXT PRIMARY KEY, script_hash TEXT NULL, change TEXT NOT NULL, project TEXT NOT NULL REFERENCES sqitch.projects(project) ON UPDATE CASCADE, note TEXT NOT NULL DEFAULT '', committed_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(), committer_name TEXT NOT NULL, committer_email TEXT NOT NULL, planned_at TIMESTAMPTZ NOT NULL, planner_name TEXT NOT NULL, planner_email TEXT NOT NULL, UNIQUE(project, script_hash))",
    ],
    migrations,
  };
}

/** Liquibase's checksum of a formatted-SQL change set, version 9, written again here from Liquibase's source. */
function liquibaseSqlChecksum(sql: string): string {
  const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
  return `9:${md5(`9:${md5(sql.replace(/[ \t\r\n]/g, ''))}:`)}`;
}

/** A formatted-SQL changelog's change sets (`--changeset author:id`), their SQL without `--rollback` lines, trimmed. */
function formattedChangeSets(text: string): { author: string; id: string; sql: string }[] {
  return text
    .split(/^--\s*changeset\s+/im)
    .slice(1)
    .map((part) => {
      const [head, ...body] = part.split('\n');
      const [author, id] = head!.split(/\s/)[0]!.split(':');
      const sql = body
        .filter((l) => !/^\s*--\s*rollback\b/i.test(l))
        .join('\n')
        .trim();
      return { author: author!, id: id!, sql };
    });
}

/**
 * Liquibase (liquibase-standard `CreateDatabaseChangeLogTableGenerator`, `MarkChangeSetRanGenerator`,
 * `StandardChangeLogHistoryService`): `databasechangelog` and `databasechangeloglock` created as on PostgreSQL, one row
 * per change set in `orderexecuted`, `filename` the changelog's path under the search path. Each change set is sent as
 * Liquibase sends it: a formatted-SQL change set's text, and for the XML change types the statements Liquibase's
 * PostgreSQL generators print for them (`liquibase update-sql`: `public.` qualified, the key named `<table>_pkey`,
 * `autoIncrement` as an identity), given here by `generated`. `md5sum` is Liquibase's version-9 checksum for a
 * formatted-SQL change set (recomputed here from Liquibase's algorithm); for an XML change type it is a checksum of
 * Liquibase's own serialisation of the change, which neither this test nor dbee recomputes: a stand-in value.
 */
export function liquibaseRun(
  folder: string,
  changelogs: { file: string; generated?: { author: string; id: string; sql: string[]; description: string }[] }[],
): ToolRun {
  const migrations: ToolRun['migrations'] = [];
  for (const log of changelogs) {
    const sets = log.generated
      ? log.generated.map((g) => ({ ...g, md5: `9:${createHash('md5').update(g.description).digest('hex')}` }))
      : formattedChangeSets(readFileSync(join(folder, log.file), 'utf8')).map((c) => ({
          ...c,
          sql: [c.sql],
          description: 'sql',
          md5: liquibaseSqlChecksum(c.sql),
        }));
    for (const s of sets)
      migrations.push({
        sql: s.sql,
        history: [
          `INSERT INTO public.databasechangelog (ID, AUTHOR, FILENAME, DATEEXECUTED, ORDEREXECUTED, MD5SUM, DESCRIPTION, COMMENTS, EXECTYPE, CONTEXTS, LABELS, LIQUIBASE, DEPLOYMENT_ID) VALUES (${lit(s.id)}, ${lit(s.author)}, ${lit(log.file)}, NOW(), ${migrations.length + 1}, ${lit(s.md5)}, ${lit(s.description)}, '', 'EXECUTED', NULL, NULL, '4.33.0', '1234567890')`,
        ],
      });
  }
  return {
    ddl: [
      'CREATE TABLE public.databasechangeloglock (ID INTEGER NOT NULL, LOCKED BOOLEAN NOT NULL, LOCKGRANTED TIMESTAMP WITHOUT TIME ZONE, LOCKEDBY VARCHAR(255), CONSTRAINT databasechangeloglock_pkey PRIMARY KEY (ID))',
      'INSERT INTO public.databasechangeloglock (ID, LOCKED) VALUES (1, FALSE)',
      'CREATE TABLE public.databasechangelog (ID VARCHAR(255) NOT NULL, AUTHOR VARCHAR(255) NOT NULL, FILENAME VARCHAR(255) NOT NULL, DATEEXECUTED TIMESTAMP WITHOUT TIME ZONE NOT NULL, ORDEREXECUTED INTEGER NOT NULL, EXECTYPE VARCHAR(10) NOT NULL, MD5SUM VARCHAR(35), DESCRIPTION VARCHAR(255), COMMENTS VARCHAR(255), TAG VARCHAR(255), LIQUIBASE VARCHAR(20), CONTEXTS VARCHAR(255), LABELS VARCHAR(255), DEPLOYMENT_ID VARCHAR(10))',
    ],
    migrations,
  };
}
