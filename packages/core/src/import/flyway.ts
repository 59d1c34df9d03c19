import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { DbeeError } from '../errors';
import { canonicalVersion } from '../sources/discover';
import { flywayChecksum } from './checksums';
import {
  byVersion,
  duplicateVersions,
  filesUnder,
  invalid,
  lineAt,
  readText,
  requireFolder,
  slug,
  throwAll,
} from './files';
import { sqlName, text, type TableName } from './history';
import type { History, HistoryEntry, ImportedMigration, ImportedRepeatable, Importer } from './imported';

const VERSIONED = /^([VU])(\d+(?:[._]\d+)*)__(.+)\.sql$/;
const REPEATABLE = /^R__(.+)\.sql$/;
const CALLBACK = /^(before|after)[A-Za-z]+(__.*)?\.sql$/;
const PLACEHOLDER = /\$\{([^}\s]*)\}/g;

/** What flyway.conf / flyway.toml say that the import uses. */
interface FlywayConfig {
  /** Its file, folder-relative, or null without one. */
  file: string | null;
  locations: { path: string; line: number }[];
  placeholders: Map<string, string>;
  replace: boolean;
  /** `flyway.table` and the first of `flyway.defaultSchema` / `flyway.schemas`: where the history table is. */
  table: string | null;
  /** Settings the import does not use, named (never their values: a URL or a password may be among them). */
  ignored: string[];
}

/**
 * Flyway: `V<version>__<description>.sql` (versions `1`, `1.2`, `1_2`, `2024.01.15.1`), `U<version>__…` undo scripts,
 * `R__<description>.sql` repeatable scripts (dbee object files, re-run when they change), in the locations of
 * flyway.conf or flyway.toml when the folder has one; `${name}` placeholders become dbee variables `{{name}}`.
 */
export const flyway: Importer = {
  tool: 'flyway',
  table: 'flyway_schema_history',
  repair:
    'run `flyway repair` (or fix the migration and run `flyway migrate` again) so that the history has no failed entry',
  read(folder, display) {
    requireFolder(folder, display, 'Flyway migrations (V1__init.sql, ...) or flyway.conf / flyway.toml');
    const problems: DbeeError[] = [];
    const config = readConfig(folder, display, problems);
    const versioned: ImportedMigration[] = [];
    const undo = new Map<string, { text: string; file: string }>();
    const repeatables: ImportedRepeatable[] = [];
    const skipped = config.ignored.map((k) => `${config.file}: ${k} (not used by the import)`);
    const variables: Record<string, string> = {};
    for (const location of config.locations) {
      const dir = join(folder, location.path);
      if (!existsSync(dir)) {
        problems.push(
          invalid(
            `${display}/${config.file}`,
            location.line,
            `location ${location.path} is not a folder under ${display}`,
            'point flyway.locations at the folder of the SQL migrations (filesystem:<path>), relative to the configuration file',
          ),
        );
        continue;
      }
      for (const rel of filesUnder(dir)) {
        const file = relative(folder, join(dir, rel)).split('\\').join('/');
        const name = rel.slice(rel.lastIndexOf('/') + 1);
        const shown = `${display}/${file}`;
        const v = VERSIONED.exec(name);
        const r = v ? null : REPEATABLE.exec(name);
        if (!v && !r) {
          if (CALLBACK.test(name))
            problems.push(
              invalid(
                shown,
                1,
                `${name} is a Flyway callback, which dbee has no equivalent of`,
                'move what it does into a migration (or a smoke check), delete the file from the folder to import, and run the import again',
              ),
            );
          else if (/^B\d/.test(name))
            problems.push(
              invalid(
                shown,
                1,
                `${name} is a Flyway baseline migration, which dbee does not import`,
                'import the versioned migrations; dbee baseline <project> then lets new environments skip them',
              ),
            );
          else skipped.push(`${file} (not a Flyway migration name)`);
          continue;
        }
        const raw = readText(join(dir, rel));
        const body = config.replace ? placeholders(raw, shown, config, variables, problems) : raw;
        if (r) {
          repeatables.push({ path: `repeatable/${slug(r[1]!)}.sql`, text: body, file });
          continue;
        }
        const version = canonicalVersion(v![2]!);
        if (v![1] === 'U') {
          undo.set(version, { text: body, file });
          continue;
        }
        versioned.push({
          version,
          name: slug(v![3]!),
          up: body,
          down: null,
          file,
          id: version,
          checksum: String(flywayChecksum(raw)),
        });
      }
    }
    const migrations = duplicateVersions(versioned.sort(byVersion), display, problems);
    const byVer = new Map(migrations.map((m) => [m.version, m]));
    for (const [version, u] of undo) {
      const m = byVer.get(version);
      if (m) m.down = u.text;
      else
        problems.push(
          invalid(
            `${display}/${u.file}`,
            1,
            `undo script for version ${version}, which has no migration`,
            'name it after the migration it undoes (U<version>__<description>.sql)',
          ),
        );
    }
    throwAll(problems, display);
    return { migrations, repeatables, smoke: [], variables, skipped };
  },
  tableOf: (folder, display) => flywayTable(folder, display),
  async history(conn, table) {
    return flywayHistory(conn, table);
  },
};

/** `${name}` → `{{name}}` and `variables[name]`, each placeholder checked: a refusal with its line otherwise. */
function placeholders(
  raw: string,
  shown: string,
  config: FlywayConfig,
  variables: Record<string, string>,
  problems: DbeeError[],
): string {
  return raw.replace(PLACEHOLDER, (whole, name: string, at: number) => {
    const refuse = (message: string, hint: string) => {
      problems.push(invalid(shown, lineAt(raw, at), message, hint));
      return whole;
    };
    if (name.startsWith('flyway:'))
      return refuse(
        `\${${name}} is one of Flyway's built-in placeholders, which dbee does not set`,
        "write the value, or a dbee variable (`{{env}}`, `{{project}}`, or one of db.yaml's `variables`) in the file to import",
      );
    const value = config.placeholders.get(name);
    if (value === undefined)
      return refuse(
        `placeholder \${${name}} has no value in ${config.file ?? 'flyway.conf / flyway.toml (none in the folder)'}`,
        'give it a value under flyway.placeholders (Flyway itself would refuse the migration), or write the value in the file',
      );
    if (!/^[A-Za-z0-9_]+$/.test(name))
      return refuse(
        `placeholder \${${name}}: a dbee variable's name is letters, digits and _`,
        'rename the placeholder in the file and in the configuration',
      );
    variables[name] = value;
    return `{{${name}}}`;
  });
}

/** flyway.conf (Java properties) or flyway.toml, in the folder or its conf/ folder; the folder itself without one. */
function readConfig(folder: string, display: string, problems: DbeeError[]): FlywayConfig {
  const config: FlywayConfig = {
    file: null,
    locations: [],
    placeholders: new Map(),
    replace: true,
    table: null,
    ignored: [],
  };
  const file = ['flyway.toml', 'flyway.conf', 'conf/flyway.toml', 'conf/flyway.conf'].find((f) =>
    existsSync(join(folder, f)),
  );
  if (!file) {
    config.locations.push({ path: '.', line: 1 });
    return config;
  }
  config.file = file;
  const base = dirname(file);
  const entries = file.endsWith('.toml')
    ? tomlEntries(readText(join(folder, file)))
    : confEntries(readText(join(folder, file)));
  let schema: string | null = null;
  for (const { key, values, line } of entries) {
    if (key === 'flyway.locations') {
      for (const value of values) {
        const [, prefix, path] = /^(?:(filesystem|classpath):)?(.*)$/.exec(value.trim())!;
        const local = prefix === 'filesystem' ? path! : join('src/main/resources', path!);
        config.locations.push({ path: join(base, local), line });
      }
    } else if (key.startsWith('flyway.placeholders.')) {
      config.placeholders.set(key.slice('flyway.placeholders.'.length), values[0] ?? '');
    } else if (key === 'flyway.placeholderReplacement') {
      config.replace = values[0] !== 'false';
    } else if (key === 'flyway.table') {
      config.table = values[0] ?? null;
    } else if (key === 'flyway.defaultSchema' || (key === 'flyway.schemas' && schema === null)) {
      schema = values[0] ?? null;
    } else if (
      [
        'flyway.sqlMigrationPrefix',
        'flyway.undoSqlMigrationPrefix',
        'flyway.repeatableSqlMigrationPrefix',
        'flyway.sqlMigrationSeparator',
        'flyway.sqlMigrationSuffixes',
        'flyway.placeholderPrefix',
        'flyway.placeholderSuffix',
      ].includes(key)
    ) {
      problems.push(
        invalid(
          `${display}/${file}`,
          line,
          `${key}: the import reads Flyway's default names only (V, U, R__, __, .sql, \${…})`,
          'rename the files (or placeholders) to the defaults and remove the setting, then import again',
        ),
      );
    } else config.ignored.push(key);
  }
  if (!config.locations.length) config.locations.push({ path: join(base, 'sql'), line: 1 });
  const table = config.table ?? 'flyway_schema_history';
  config.table = schema ? `${schema}.${table}` : table;
  return config;
}

/** `key=value` lines of flyway.conf (`#` and `!` comments; values comma-separated where a list is meant). */
function confEntries(text: string): { key: string; values: string[]; line: number }[] {
  const out: { key: string; values: string[]; line: number }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('!')) return;
    const eq = line.search(/[=:]/);
    if (eq < 0) return;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    out.push({
      key,
      values: key === 'flyway.locations' ? value.split(',').map((v) => v.trim()) : [value],
      line: i + 1,
    });
  });
  return out;
}

/**
 * The keys of flyway.toml that the import reads, as `flyway.<key>` (`[flyway]`, `[flyway.placeholders]`,
 * `[environments.<name>]` whose `schemas` and `url` it does not use): strings and arrays of strings, one line each.
 */
function tomlEntries(text: string): { key: string; values: string[]; line: number }[] {
  const out: { key: string; values: string[]; line: number }[] = [];
  let section = '';
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/\s+#.*$/, '').trim();
    if (!line || line.startsWith('#')) return;
    const head = /^\[([^\]]+)\]$/.exec(line);
    if (head) {
      section = head[1]!.trim();
      return;
    }
    const kv = /^([A-Za-z0-9_.:"-]+)\s*=\s*(.*)$/.exec(line);
    if (!kv) return;
    const key = kv[1]!.replace(/"/g, '');
    const value = kv[2]!.trim();
    const values = value.startsWith('[')
      ? [...value.matchAll(/"([^"]*)"|'([^']*)'/g)].map((m) => m[1] ?? m[2] ?? '')
      : [value.replace(/^"(.*)"$|^'(.*)'$/, '$1$2')];
    const prefix = section === 'flyway' ? 'flyway.' : section.startsWith('flyway.') ? `${section}.` : `${section}.`;
    out.push({ key: prefix + key, values, line: i + 1 });
  });
  return out;
}

/**
 * flyway_schema_history, in `installed_rank` order: a versioned row applied (type `SQL`), undone by a later `UNDO_SQL`
 * row, a `BASELINE` row standing for every version up to it, repeatable rows (no version) left to the adoption of the
 * objects, `success = false` a failed entry.
 */
async function flywayHistory(conn: Parameters<Importer['history']>[0], table: TableName): Promise<History> {
  const r = await conn.query<Record<string, unknown>>(
    `SELECT installed_rank, version, type, script, checksum, success, installed_on FROM ${sqlName(table)} ORDER BY installed_rank`,
  );
  const applied = new Map<string, HistoryEntry>();
  const failed: HistoryEntry[] = [];
  let baseline: string | null = null;
  for (const row of r.rows) {
    const version = text(row.version);
    const type = text(row.type) ?? '';
    const label = `${version ? `V${version}` : text(row.script)} (${table.name} rank ${text(row.installed_rank)})`;
    const ok = row.success === true || row.success === 1 || row.success === 't';
    if (!ok) {
      failed.push({
        id: version ? canonicalVersion(version) : `R:${text(row.script)}`,
        checksum: null,
        failed: 'success = false',
        label,
        at: text(row.installed_on),
      });
      continue;
    }
    if (!version || type === 'SCHEMA' || type === 'DELETE') continue;
    const id = canonicalVersion(version);
    if (type === 'BASELINE') baseline = id;
    else if (type.startsWith('UNDO')) applied.delete(id);
    else applied.set(id, { id, checksum: text(row.checksum), failed: null, label, at: text(row.installed_on) });
  }
  return {
    entries: [...applied.values(), ...failed],
    implied: baseline ? [{ id: `<=${baseline}`, through: `Flyway's baseline V${baseline}` }] : [],
  };
}

/** Where flyway.conf / flyway.toml put the history table, for `--history-table`'s default. */
function flywayTable(folder: string, display: string): string {
  return readConfig(folder, display, []).table ?? 'flyway_schema_history';
}
