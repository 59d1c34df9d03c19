import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DbeeError } from '../errors';
import { invalid, readText, throwAll } from './files';
import { sqlName, text } from './history';
import type { HistoryEntry, Importer } from './imported';

/** Rails' own tables in structure.sql: its history and its environment marker, left to Rails. */
const RAILS_TABLES = ['schema_migrations', 'ar_internal_metadata'];
const INSERT_VERSIONS = /^INSERT INTO "?schema_migrations"? \(version\) VALUES\s*$/i;

/**
 * Rails with `schema_format = :sql`: `db/structure.sql` (pg_dump's text, which Rails writes after every migration) is
 * one dbee migration, `V1__rails_structure.sql`, the schema as it is; the Ruby migrations in `db/migrate` are not
 * converted (their versions must be in the dump's `schema_migrations` list, or the dump is stale). pg_dump's session
 * settings and Rails' own tables (`schema_migrations`, `ar_internal_metadata`) are left out. History: Rails'
 * `schema_migrations` must hold exactly the dump's versions: one it lacks is refused (run `rails db:migrate` there
 * first: dbee does not run Ruby), one the dump does not list too.
 */
export const rails: Importer = {
  tool: 'rails',
  table: 'schema_migrations',
  repair: 'run `rails db:migrate` on it',
  read(folder, display, engine) {
    const base = existsSync(join(folder, 'db', 'structure.sql')) ? 'db/' : '';
    const shown = `${display}/${base}structure.sql`;
    if (!existsSync(join(folder, base, 'structure.sql'))) {
      const ruby = existsSync(join(folder, base || 'db/', 'schema.rb'));
      throw invalid(
        ruby ? `${display}/${base || 'db/'}schema.rb` : display,
        ruby ? 1 : undefined,
        ruby
          ? 'db/schema.rb is Ruby, which dbee does not read'
          : `no db/structure.sql in ${display}: name the Rails application's folder`,
        ruby
          ? 'set `config.active_record.schema_format = :sql`, run `rails db:schema:dump` (it writes db/structure.sql), then import'
          : 'Rails writes db/structure.sql when `config.active_record.schema_format = :sql`',
      );
    }
    const problems: DbeeError[] = [];
    const { text: dump, versions } = structure(readText(join(folder, base, 'structure.sql')), shown, problems);
    const { sql, left, problems: unrunnable } = engine.fromDump(dump, RAILS_TABLES);
    for (const p of unrunnable) problems.push(invalid(shown, p.line, p.message, p.hint));
    const migrate = join(folder, base || 'db/', 'migrate');
    const notices = left.map((l) => `${base}structure.sql: ${l} left out`);
    if (existsSync(migrate))
      for (const f of readdirSync(migrate).sort()) {
        const v = /^(\d+)_\w+\.rb$/.exec(f)?.[1];
        if (v && !versions.includes(v))
          problems.push(
            invalid(
              `${display}/${base || 'db/'}migrate/${f}`,
              1,
              `migration ${v} is not in ${base}structure.sql's schema_migrations: the dump is older than the migrations`,
              'run `rails db:migrate` (it dumps db/structure.sql again), commit the dump, then import',
            ),
          );
      }
    if (!versions.length)
      problems.push(
        invalid(
          shown,
          undefined,
          'no INSERT INTO "schema_migrations" in the dump',
          'dump it with `rails db:schema:dump`',
        ),
      );
    throwAll(problems, display);
    const latest = versions[versions.length - 1] ?? '';
    return {
      migrations: [
        {
          version: '1',
          name: 'rails_structure',
          up: sql,
          down: null,
          file: `${base}structure.sql`,
          id: 'structure',
          notes: [
            `Rails db/structure.sql at schema version ${latest}: the schema its ${versions.length} migrations built (db/migrate/*.rb are not converted). pg_dump's session settings and Rails' schema_migrations and ar_internal_metadata are left out.`,
          ],
        },
      ],
      repeatables: [],
      smoke: [],
      variables: {},
      skipped: [],
      notices,
      recorded: versions,
    };
  },
  async history(conn, table, folder, engine) {
    if (await engine.hasColumn(conn, table, 'dirty'))
      throw new DbeeError(
        `${table.schema}.${table.name} has a column dirty: it is golang-migrate's history, not Rails'`,
        {
          code: 'IMPORT_NO_HISTORY',
          hint: 'import with --from golang-migrate if golang-migrate migrated this database',
        },
      );
    const r = await conn.query<Record<string, unknown>>(`SELECT version FROM ${sqlName(table)} ORDER BY version`);
    const dumped = folder.recorded ?? [];
    const applied = r.rows.map((row) => text(row.version) ?? '');
    const missing = dumped.filter((v) => !applied.includes(v));
    if (missing.length)
      throw new DbeeError(
        `this environment lacks ${missing.length} of the migrations in db/structure.sql: ${missing.join(', ')} (${table.name})`,
        {
          code: 'IMPORT_BEHIND',
          hint: 'run `rails db:migrate` there first (dbee does not run Ruby migrations), then import; nothing was recorded',
          details: { table: table.name, missing },
        },
      );
    const unknown: HistoryEntry[] = applied
      .filter((v) => !dumped.includes(v))
      .map((v) => ({
        id: `version ${v}`,
        checksum: null,
        failed: null,
        label: `version ${v} (${table.name})`,
        at: null,
      }));
    return {
      entries: unknown,
      implied: [
        {
          id: 'structure',
          through: `${table.name}: the ${dumped.length} versions of db/structure.sql, the latest ${dumped[dumped.length - 1]}`,
        },
      ],
    };
  },
};

/**
 * The dump's `INSERT INTO "schema_migrations"` versions, and the dump without that statement (its lines blank, so
 * that lines keep their numbers); the rest is the engine's to clean (`ImportRole.fromDump`).
 */
function structure(raw: string, shown: string, problems: DbeeError[]) {
  const lines = raw.split(/\r?\n/);
  const versions: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!INSERT_VERSIONS.test(lines[i]!)) continue;
    lines[i] = '';
    for (i++; i < lines.length; i++) {
      const v = /^\('(\d+)'\)([,;])\s*$/.exec(lines[i]!);
      if (!v) {
        problems.push(
          invalid(
            shown,
            i + 1,
            'a line of the schema_migrations INSERT the import cannot read',
            "restore the dump as Rails wrote it (one ('version') a line)",
          ),
        );
        break;
      }
      versions.push(v[1]!);
      lines[i] = '';
      if (v[2] === ';') break;
    }
  }
  return { text: lines.join('\n'), versions };
}
