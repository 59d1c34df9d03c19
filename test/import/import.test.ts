import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queryUrl, scratchDatabase } from '../support/pg';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';
import {
  copyFixture,
  dbmateRun,
  drizzleRun,
  dump,
  FIXTURES,
  flywayRun,
  golangMigrateRun,
  gooseRun,
  liquibaseRun,
  prismaRun,
  sqitchRun,
  type ToolRun,
  toolMigrates,
} from './tools';

/**
 * `dbee import` on real public migration folders (test/fixtures/import/README.md), one round per tool: the tool
 * migrates environment `a` whole and `b` without its last migrations (tools.ts: its scripts as it sends them, its
 * history table as it writes it); `import` writes the project, `import --env a` records the history; then `deploy`
 * on `a` has nothing to do and `status` says no drift, `import --env b` and `deploy b` run exactly the migrations `b`
 * lacks, and `b` ends pg_dump-equal to `a`, the tool's own result. The tool's history table is left as it was.
 */
const WS = `version: 1
defaultEnvironment: a
environments:
  a:
    engine: postgres
    connection: { url: "\${IMPORT_A}" }
  b:
    engine: postgres
    connection: { url: "\${IMPORT_B}" }
`;

interface Round {
  tool: string;
  fixture: string;
  project: string;
  /** The schema the migrations build (pg_dump compares it) and `--schemas`. */
  schema: string;
  run: ToolRun;
  /** The tool's history table(s), left out of the comparison. */
  history: string[];
  /** How many migrations `b` has from the tool. */
  partial: number;
  /** Files written into the fixture's copy (Liquibase's root changelog). */
  extra?: Record<string, string>;
}

interface Env {
  root: string;
  vars: Record<string, string>;
  a: string;
  b: string;
  cli: (command: Parameters<typeof run>[1], options: Record<string, unknown>) => ReturnType<typeof run>;
}

/** A workspace with the fixture under legacy/ and two scratch databases, `a` and `b`. */
async function roundEnv(fixture: string, extra: Record<string, string> = {}): Promise<Env & { done(): Promise<void> }> {
  const [a, b] = await Promise.all([scratchDatabase('dbee_imp'), scratchDatabase('dbee_imp')]);
  const w = tempWorkspace({ 'dbee.yaml': WS });
  copyFixture(fixture, join(w.root, 'legacy'));
  for (const [f, text] of Object.entries(extra)) writeFileSync(join(w.root, 'legacy', f), text);
  const vars = { IMPORT_A: a.url, IMPORT_B: b.url };
  return {
    root: w.root,
    vars,
    a: a.url,
    b: b.url,
    cli: (command, options) => run(w.root, command, options as never, vars),
    async done() {
      w.remove();
      await Promise.all([a.drop(), b.drop()]);
    },
  };
}

/** The round of one tool; `between` runs after the tool migrated, before the import (refusals). */
async function round(r: Round, between?: (e: Env) => Promise<void>, after?: (e: Env) => Promise<void>): Promise<void> {
  const e = await roundEnv(r.fixture, r.extra);
  try {
    await toolMigrates(e.a, r.run);
    await toolMigrates(e.b, r.run, r.partial);
    const historyBefore = await Promise.all(r.history.map((t) => queryUrl(e.a, `SELECT * FROM ${t} ORDER BY 1`)));
    const base = { project: r.project, from: r.tool, folder: 'legacy', schemas: r.schema };
    const files = await e.cli('import', base);
    expect(files.stderr).toBe('');
    expect(files.code).toBe(0);
    if (between) await between(e);
    const total = r.run.migrations.length;
    const ia = await e.cli('import', { ...base, env: 'a' });
    expect(ia.stderr).toBe('');
    expect(ia.code).toBe(0);
    expect(ia.stdout.match(/recorded as run/g)?.length).toBe(total);
    const da = await e.cli('deploy', { project: r.project, env: 'a' });
    expect(da.stderr).toBe('');
    expect(da.stdout).toContain('nothing to deploy');
    const sa = await e.cli('status', { project: r.project, env: 'a' });
    expect(sa.stdout).toContain('drift: no');
    expect(sa.stdout).toContain('pending: nothing');
    const ib = await e.cli('import', { ...base, env: 'b' });
    expect(ib.code, ib.stderr).toBe(0);
    expect(ib.stdout.match(/recorded as run/g)?.length).toBe(r.partial);
    const db = await e.cli('deploy', { project: r.project, env: 'b' });
    expect(db.code, db.stderr).toBe(0);
    const ran = db.stdout.match(/\] migrate migration:\S+/g) ?? [];
    expect(ran.length).toBe(total - r.partial);
    expect(dump(e.b, r.schema, r.history)).toEqual(dump(e.a, r.schema, r.history));
    const historyAfter = await Promise.all(r.history.map((t) => queryUrl(e.a, `SELECT * FROM ${t} ORDER BY 1`)));
    expect(historyAfter).toEqual(historyBefore);
    if (after) return await after(e); // checks the next migration its own way (Flyway: it also rolls it back)
    // The next migration written for dbee applies alone on the imported environment (a version after any the tools
    // write: timestamps included).
    const next = join(e.root, r.project, 'migrations', 'V99999999999999__dbee_next');
    writeFileSync(`${next}.sql`, `CREATE TABLE ${r.schema}.dbee_next (id int);\n`);
    writeFileSync(`${next}.rollback.sql`, `DROP TABLE ${r.schema}.dbee_next;\n`);
    const dn = await e.cli('deploy', { project: r.project, env: 'a' });
    expect(dn.code, dn.stderr).toBe(0);
    expect(dn.stdout.match(/\] migrate migration:\S+/g)).toEqual([`] migrate migration:${r.project}/V99999999999999`]);
  } finally {
    await e.done();
  }
}

const FLYWAY_SQL = [
  { file: 'V1__First.sql', version: '1', description: 'First' },
  { file: 'V1.1__View.sql', version: '1.1', description: 'View' },
  { file: 'V1_2__Populate_table.sql', version: '1.2', description: 'Populate table' },
  {
    file: 'V2_0__Add_foreign_key_and_super_mega_humongous_padding_to_exceed_the_maximum_column_length_in_the_metadata_table.sql',
    version: '2.0',
    description:
      'Add foreign key and super mega humongous padding to exceed the maximum column length in the metadata table',
  },
];

describe('dbee import from Flyway (flyway-core test migrations: V1, V1.1, V1_2, V2_0)', () => {
  it('records the history (a dry run first); refuses a failed entry, a changed file and an unknown migration together; the next dbee migration applies alone', async () => {
    await round(
      {
        tool: 'flyway',
        fixture: 'flyway/sql',
        project: 'fw',
        schema: 'public',
        run: flywayRun(FLYWAY_SQL, join(FIXTURES, 'flyway', 'sql')),
        history: ['public.flyway_schema_history'],
        partial: 2,
      },
      async (e) => {
        // Three problems at once, each named, reported together; nothing recorded.
        await queryUrl(
          e.a,
          `UPDATE flyway_schema_history SET success = false WHERE installed_rank = 3;
           UPDATE flyway_schema_history SET checksum = checksum + 1 WHERE installed_rank = 2;
           INSERT INTO flyway_schema_history VALUES (9, '3', 'Gone', 'SQL', 'V3__Gone.sql', 1, 'postgres', now(), 1, true)`,
        );
        const r = await e.cli('import', { project: 'fw', from: 'flyway', folder: 'legacy', env: 'a' });
        await queryUrl(
          e.a,
          `UPDATE flyway_schema_history SET success = true WHERE installed_rank = 3;
           UPDATE flyway_schema_history SET checksum = checksum - 1 WHERE installed_rank = 2;
           DELETE FROM flyway_schema_history WHERE installed_rank = 9`,
        );
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("3 problems in flyway's history (flyway_schema_history)");
        expect(r.stderr).toContain('V1.2 (flyway_schema_history rank 3), success = false');
        expect(r.stderr).toContain(
          'V1.1 (flyway_schema_history rank 2): its file V1.1__View.sql changed since flyway applied it',
        );
        expect(r.stderr).toContain(
          'V3 (flyway_schema_history rank 9) was applied on this environment, but the folder holds no such migration',
        );
        expect(r.stderr).toContain('nothing was recorded');
        expect(await queryUrl(e.a, "SELECT to_regclass('dbee.deployments') AS l")).toEqual([{ l: null }]);
        // The dry run prints what it would record, each checksum verified, and records nothing.
        const dry = await e.cli('import', { project: 'fw', from: 'flyway', folder: 'legacy', env: 'a', dryRun: true });
        expect(dry.code, dry.stderr).toBe(0);
        expect(dry.stdout).toContain('migration 2.0 recorded as run: applied by flyway');
        expect(dry.stdout.match(/checksum verified/g)?.length).toBe(4);
        expect(await queryUrl(e.a, "SELECT to_regclass('dbee.deployments') AS l")).toEqual([{ l: null }]);
      },
      async (e) => {
        expect(await queryUrl(e.a, 'SELECT version, deployment_id FROM dbee.migrations ORDER BY version')).toEqual(
          ['1', '1.1', '1.2', '2.0'].map((version) => ({ version, deployment_id: '1' })),
        );
        // The next migration written for dbee applies alone, and rolls back alone.
        writeFileSync(join(e.root, 'fw/migrations/V3__note.sql'), 'ALTER TABLE couple ADD COLUMN note text;\n');
        writeFileSync(join(e.root, 'fw/migrations/V3__note.rollback.sql'), 'ALTER TABLE couple DROP COLUMN note;\n');
        const d = await e.cli('deploy', { project: 'fw', env: 'a' });
        expect(d.code, d.stderr).toBe(0);
        expect(d.stdout.match(/\] migrate migration:\S+/g)).toEqual(['] migrate migration:fw/V3']);
        const rb = await e.cli('rollback', { project: 'fw', env: 'a', assumeYes: true });
        expect(rb.code, rb.stderr).toBe(0);
        expect(
          await queryUrl(
            e.a,
            "SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'couple' AND column_name = 'note'",
          ),
        ).toEqual([{ n: 0 }]);
      },
    );
  });

  it('maps placeholders of flyway.conf to variables, and refuses a built-in placeholder with its line, writing nothing', async () => {
    const w = tempWorkspace({ 'dbee.yaml': WS });
    try {
      copyFixture('flyway/placeholder', join(w.root, 'legacy/sql'));
      writeFileSync(
        join(w.root, 'legacy/flyway.conf'),
        'flyway.url=jdbc:postgresql://db/app\nflyway.locations=filesystem:sql\nflyway.placeholders.abc=Mr. T\n',
      );
      const r = await run(w.root, 'import', { project: 'ph', from: 'flyway', folder: 'legacy' });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('skipped: flyway.conf: flyway.url (not used by the import)');
      expect(readFileSync(join(w.root, 'ph/db.yaml'), 'utf8')).toContain('variables:\n  abc: "Mr. T"');
      expect(readFileSync(join(w.root, 'ph/migrations/V1__First.sql'), 'utf8')).toContain("VALUES (1, '{{abc}}')");
      writeFileSync(
        join(w.root, 'legacy/sql/V2__Who.sql'),
        "SELECT 1;\nINSERT INTO test_user VALUES (2, '${flyway:user}');\n",
      );
      const bad = await run(w.root, 'import', { project: 'ph2', from: 'flyway', folder: 'legacy' });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('legacy/sql/V2__Who.sql:2');
      expect(bad.stderr).toContain("${flyway:user} is one of Flyway's built-in placeholders");
      expect(existsSync(join(w.root, 'ph2'))).toBe(false);
      // A second project owning the schema the first imported one owns: refused, nothing written (failed before: it
      // was written, and every later command of the workspace refused the schema's two owners).
      rmSync(join(w.root, 'legacy/sql/V2__Who.sql'));
      const twice = await run(w.root, 'import', { project: 'ph3', from: 'flyway', folder: 'legacy' });
      expect(twice.code).toBe(1);
      expect(twice.stderr).toContain('ph3 would own schema public, which project ph owns already (ph/db.yaml:');
      expect(twice.stderr).toContain('--schemas');
      expect(existsSync(join(w.root, 'ph3'))).toBe(false);
    } finally {
      w.remove();
    }
  });
});

describe('dbee import from golang-migrate (its PostgreSQL example migrations)', () => {
  it('records the current version and those before it; a dirty version is refused', async () => {
    await round(
      {
        tool: 'golang-migrate',
        fixture: 'golang-migrate/migrations',
        project: 'gm',
        schema: 'public',
        run: golangMigrateRun(join(FIXTURES, 'golang-migrate', 'migrations')),
        history: ['public.schema_migrations'],
        partial: 3,
      },
      async (e) => {
        await queryUrl(e.a, 'UPDATE schema_migrations SET dirty = true');
        const r = await e.cli('import', { project: 'gm', from: 'golang-migrate', folder: 'legacy', env: 'a' });
        await queryUrl(e.a, 'UPDATE schema_migrations SET dirty = false');
        expect(r.code).toBe(1);
        expect(r.stderr).toContain('version 1885849751 (schema_migrations), dirty = true');
        expect(r.stderr).toContain('migrate force');
      },
    );
  });
});

describe('dbee import from goose (its PostgreSQL integration migrations: StatementBegin/End, NO TRANSACTION, an empty one)', () => {
  it('records the applied versions', async () => {
    await round({
      tool: 'goose',
      fixture: 'goose/migrations',
      project: 'gs',
      schema: 'public',
      run: gooseRun(join(FIXTURES, 'goose', 'migrations')),
      history: ['public.goose_db_version'],
      partial: 4,
    });
  });

  it('refuses a file without -- +goose Up, with its file and line, writing nothing', async () => {
    const w = tempWorkspace({ 'dbee.yaml': WS });
    try {
      copyFixture('goose/migrations', join(w.root, 'legacy'));
      writeFileSync(join(w.root, 'legacy/00007_bad.sql'), '-- a comment\nCREATE TABLE t (id int);\n');
      const r = await run(w.root, 'import', { project: 'gs', from: 'goose', folder: 'legacy' });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('legacy/00007_bad.sql:2');
      expect(r.stderr).toContain('a statement before -- +goose Up');
      expect(existsSync(join(w.root, 'gs'))).toBe(false);
    } finally {
      w.remove();
    }
  });
});

describe('dbee import from dbmate (its test migrations)', () => {
  it('records the applied versions; one applied but missing from the folder is refused', async () => {
    await round(
      {
        tool: 'dbmate',
        fixture: 'dbmate/migrations',
        project: 'dm',
        schema: 'public',
        run: dbmateRun(join(FIXTURES, 'dbmate', 'migrations')),
        history: ['public.schema_migrations'],
        partial: 1,
      },
      async (e) => {
        await queryUrl(e.a, "INSERT INTO schema_migrations VALUES ('20990101000000')");
        const r = await e.cli('import', { project: 'dm', from: 'dbmate', folder: 'legacy', env: 'a' });
        await queryUrl(e.a, "DELETE FROM schema_migrations WHERE version = '20990101000000'");
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(
          'version 20990101000000 (schema_migrations) was applied on this environment, but the folder holds no such migration',
        );
      },
    );
  });
});

describe('dbee import from Prisma (umami: 19 migrations)', () => {
  it('records the finished migrations, their SHA-256 checksums verified; an unfinished one is refused', async () => {
    await round(
      {
        tool: 'prisma',
        fixture: 'prisma/migrations',
        project: 'pr',
        schema: 'public',
        run: prismaRun(join(FIXTURES, 'prisma', 'migrations')),
        history: ['public._prisma_migrations'],
        partial: 15,
      },
      async (e) => {
        await queryUrl(e.a, "UPDATE _prisma_migrations SET finished_at = NULL WHERE migration_name = '16_boards'");
        const r = await e.cli('import', { project: 'pr', from: 'prisma', folder: 'legacy', env: 'a' });
        await queryUrl(
          e.a,
          "UPDATE _prisma_migrations SET finished_at = started_at WHERE migration_name = '16_boards'",
        );
        expect(r.code).toBe(1);
        expect(r.stderr).toContain('16_boards (_prisma_migrations), started, never finished');
        expect(r.stderr).toContain('prisma migrate resolve');
      },
    );
  });
});

describe('dbee import from Drizzle (drizzle-orm integration migrations with meta/_journal.json)', () => {
  it('records the journal entries up to the last row', async () => {
    await round({
      tool: 'drizzle',
      fixture: 'drizzle/migrations',
      project: 'dz',
      schema: 'public',
      run: drizzleRun(join(FIXTURES, 'drizzle', 'migrations')),
      history: ['drizzle.__drizzle_migrations'],
      partial: 1,
    });
  });
});

describe('dbee import from Sqitch (sqitch-intro: flipr, tags, reworked changes, verify scripts)', () => {
  it('records the deployed changes, their ids recomputed from the plan, and runs the verify scripts as smoke checks', async () => {
    await round({
      tool: 'sqitch',
      fixture: 'sqitch/project',
      project: 'sq',
      schema: 'flipr',
      run: sqitchRun(join(FIXTURES, 'sqitch', 'project')),
      history: ['sqitch.changes', 'sqitch.projects'],
      partial: 10,
    });
  });
});

/** Liquibase's PostgreSQL statements for its example changelog (see liquibaseRun). */
const PERSON_LIKE = (t: string) =>
  `CREATE TABLE public.${t} (id INTEGER GENERATED BY DEFAULT AS IDENTITY NOT NULL, name VARCHAR(50) NOT NULL, address1 VARCHAR(50), address2 VARCHAR(50), city VARCHAR(30), CONSTRAINT ${t}_pkey PRIMARY KEY (id))`;

describe('dbee import from Liquibase (its example changelog in XML and a formatted-SQL changelog of its tests, included by a root changelog)', () => {
  it('records databasechangelog, the formatted-SQL checksums verified; a failed, a changed and an unknown change set are refused together', async () => {
    await round(
      {
        tool: 'liquibase',
        fixture: 'liquibase',
        project: 'lb',
        schema: 'public',
        extra: {
          // The root changelog is the test's: the changelogs it includes are Liquibase's own.
          'changelog.xml': [
            '<databaseChangeLog xmlns="http://www.liquibase.org/xml/ns/dbchangelog">',
            '  <include file="examples/example-changelog.xml"/>',
            '  <include file="common/rollbackable.changelog.sql"/>',
            '</databaseChangeLog>',
            '',
          ].join('\n'),
        },
        run: liquibaseRun(join(FIXTURES, 'liquibase'), [
          {
            file: 'examples/example-changelog.xml',
            generated: [
              {
                author: 'your.name',
                id: '1',
                sql: [PERSON_LIKE('person')],
                description: 'createTable tableName=person',
              },
              {
                author: 'your.name',
                id: '2',
                sql: [PERSON_LIKE('company')],
                description: 'createTable tableName=company',
              },
              {
                author: 'other.dev',
                id: '3',
                sql: ['ALTER TABLE public.person ADD country VARCHAR(2)'],
                description: 'addColumn tableName=person',
              },
            ],
          },
          { file: 'common/rollbackable.changelog.sql' },
        ]),
        history: ['public.databasechangelog', 'public.databasechangeloglock'],
        partial: 1,
      },
      async (e) => {
        await queryUrl(
          e.a,
          `UPDATE databasechangelog SET md5sum = '9:00000000000000000000000000000000' WHERE id = '3324_1';
           UPDATE databasechangelog SET exectype = 'FAILED' WHERE id = '2';
           INSERT INTO databasechangelog VALUES ('gone', 'x', 'examples/example-changelog.xml', now(), 9, 'EXECUTED', '9:1', 'sql', '', NULL, '4.33.0', NULL, NULL, '1')`,
        );
        const r = await e.cli('import', { project: 'lb', from: 'liquibase', folder: 'legacy', env: 'a' });
        const fixed = liquibaseRun(join(FIXTURES, 'liquibase'), [{ file: 'common/rollbackable.changelog.sql' }]);
        const md5 = /'(9:[0-9a-f]{32})'/.exec(fixed.migrations[0]!.history[0]!)![1];
        await queryUrl(
          e.a,
          `UPDATE databasechangelog SET md5sum = '${md5}' WHERE id = '3324_1'; DELETE FROM databasechangelog WHERE id = 'gone';
           UPDATE databasechangelog SET exectype = 'EXECUTED' WHERE id = '2'`,
        );
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("3 problems in liquibase's history (databasechangelog)");
        expect(r.stderr).toContain(
          'change set examples/example-changelog.xml::2::your.name (databasechangelog order 2), exectype = FAILED',
        );
        expect(r.stderr).toContain(
          'change set common/rollbackable.changelog.sql::3324_1::flautert (databasechangelog order 4): its file common/rollbackable.changelog.sql changed since liquibase applied it',
        );
        expect(r.stderr).toContain(
          'change set examples/example-changelog.xml::gone::x (databasechangelog order 9) was applied on this environment, but the folder holds no such migration',
        );
        const dry = await e.cli('import', {
          project: 'lb',
          from: 'liquibase',
          folder: 'legacy',
          env: 'a',
          dryRun: true,
        });
        expect(dry.code, dry.stderr).toBe(0);
        expect(dry.stdout.match(/checksum verified/g)?.length).toBe(2);
        expect(dry.stdout).toContain(
          "checksum not verified (Liquibase computes a createTable change's checksum from its own serialisation of the change)",
        );
      },
      async (e) => {
        const project = (f: string) => readFileSync(join(e.root, 'lb', f), 'utf8');
        expect(project('migrations/V3__other_dev_3.rollback.sql')).toContain('ALTER TABLE person DROP COLUMN country;');
        expect(project('migrations/V5__flautert_3324_2.rollback.sql')).toContain('an empty rollback');
        expect(project('migrations/V1__your_name_1.sql')).toContain('context example-context, labels example-label');
      },
    );
  });
});

describe("dbee import from Rails (3scale/zync: db/structure.sql, its schema_migrations versions, db/migrate's Ruby not converted)", () => {
  it('adopts the dumped schema as one migration recorded where schema_migrations holds its versions; an environment behind and an unknown version are refused; the next dbee migration applies alone; a new environment is built equal', async () => {
    const e = await roundEnv('rails');
    try {
      // Rails' `db:schema:load` with schema_format :sql (ActiveRecord::Tasks::PostgreSQLDatabaseTasks#structure_load):
      // psql runs db/structure.sql, schema_migrations' INSERT included.
      await queryUrl(e.a, readFileSync(join(FIXTURES, 'rails', 'db', 'structure.sql'), 'utf8'));
      const base = { project: 'rl', from: 'rails', folder: 'legacy', schemas: 'public' };
      const files = await e.cli('import', base);
      expect(files.code, files.stderr).toBe(0);
      expect(files.stdout).toContain('  db/structure.sql -> migrations/V1__rails_structure.sql');
      const up = readFileSync(join(e.root, 'rl/migrations/V1__rails_structure.sql'), 'utf8');
      expect(up).not.toMatch(/TABLE public\.(schema_migrations|ar_internal_metadata)|^SET |set_config/m);
      await queryUrl(
        e.a,
        "DELETE FROM schema_migrations WHERE version = '20251008141931'; INSERT INTO schema_migrations VALUES ('20990101000000')",
      );
      const behind = await e.cli('import', { ...base, env: 'a' });
      expect(behind.code).toBe(1);
      expect(behind.stderr).toContain(
        'this environment lacks 1 of the migrations in db/structure.sql: 20251008141931 (schema_migrations)',
      );
      expect(behind.stderr).toContain('rails db:migrate');
      await queryUrl(e.a, "INSERT INTO schema_migrations VALUES ('20251008141931')");
      const unknown = await e.cli('import', { ...base, env: 'a' });
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain(
        'version 20990101000000 (schema_migrations) was applied on this environment, but the folder holds no such migration',
      );
      await queryUrl(e.a, "DELETE FROM schema_migrations WHERE version = '20990101000000'");
      const ia = await e.cli('import', { ...base, env: 'a' });
      expect(ia.code, ia.stderr).toBe(0);
      expect(ia.stdout).toContain(
        'migration 1 recorded as run: applied before schema_migrations: the 24 versions of db/structure.sql, the latest 20251008141931',
      );
      const da = await e.cli('deploy', { project: 'rl', env: 'a' });
      expect(da.stdout).toContain('nothing to deploy');
      const sa = await e.cli('status', { project: 'rl', env: 'a' });
      expect(sa.stdout).toContain('drift: no');
      // The next migration written for dbee applies alone on the imported environment; a new one gets both.
      writeFileSync(join(e.root, 'rl/migrations/V2__note.sql'), 'ALTER TABLE applications ADD COLUMN note text;\n');
      writeFileSync(
        join(e.root, 'rl/migrations/V2__note.rollback.sql'),
        'ALTER TABLE applications DROP COLUMN note;\n',
      );
      const next = await e.cli('deploy', { project: 'rl', env: 'a' });
      expect(next.code, next.stderr).toBe(0);
      expect(next.stdout.match(/\] migrate migration:\S+/g)).toEqual(['] migrate migration:rl/V2']);
      const db = await e.cli('deploy', { project: 'rl', env: 'b' });
      expect(db.code, db.stderr).toBe(0);
      expect(db.stdout.match(/\] migrate migration:\S+/g)).toEqual([
        '] migrate migration:rl/V1',
        '] migrate migration:rl/V2',
      ]);
      const rails = ['public.schema_migrations', 'public.ar_internal_metadata'];
      expect(dump(e.b, 'public', rails)).toEqual(dump(e.a, 'public', rails));
    } finally {
      await e.done();
    }
  });
});
