import { YamlFile } from '../config/yaml-file';
import { DbeeAggregateError, DbeeError } from '../errors';
import { canonicalVersion, compareVersions, type MigrationFile, type SourceFile } from './discover';

/** One migration folded into a baseline. */
export interface BaselineMigration {
  /** Canonical version (`1`, `1.2`): `V1_2` and `V1.2` are both `1.2`. */
  version: string;
  /** Version as numbers, for ordering. */
  versionParts: number[];
  /** Its file, relative to the project folder (`migrations/V1__fill_note.sql`); it may have been deleted since. */
  file: string;
  /** The checksum dbee records for it in the ledger of a new environment when its file is gone. */
  checksum: string;
}

/**
 * A project's baseline (`migrations/baseline.yaml`, written by `dbee baseline`): the migrations that a new environment
 * (nothing of the project in its ledger) records as applied without running them, because the sources already
 * describe the schema they led to. Environments that have deployed the project are not affected by it.
 */
export interface Baseline {
  /** Workspace-relative path of the file, for messages. */
  path: string;
  /** When it was recorded (ISO 8601). */
  recorded: string;
  /** The sources' commit when it was recorded, null outside git. */
  commit: string | null;
  /** The folded migrations, oldest first. */
  migrations: BaselineMigration[];
  /** The newest folded version (`migrations` is never empty). */
  through: BaselineMigration;
}

const VERSION = /^\d+(?:[._]\d+)*$/;

/** The schema of a baseline file (zod), made when a project has one: a deployment without one loads no zod for it. */
function baselineSchema() {
  const { z } = require('zod') as typeof import('zod');
  return z.strictObject({
    version: z.literal(1),
    recorded: z.string(),
    commit: z.string().nullable(),
    migrations: z
      .array(
        z.strictObject({
          version: z
            .union([z.string(), z.number()])
            .transform(String)
            .pipe(z.string().regex(VERSION, 'expected a migration version such as 3 or 1.2')),
          file: z.string().min(1),
          checksum: z.string().min(1),
        }),
      )
      .min(1, 'expected at least one migration (delete the file to have no baseline)'),
  });
}

/**
 * Read and check a project's baseline file against its migrations: every problem (YAML, keys, a version listed twice,
 * a migration older than the baseline that it does not fold) is reported together, with the file and line.
 */
export function readBaseline(file: SourceFile, migrations: readonly MigrationFile[]): Baseline {
  const yaml = YamlFile.parse(file.text, file.path);
  const doc = yaml.validate(baselineSchema());
  const errors: DbeeError[] = [];
  const seen = new Set<string>();
  const folded: BaselineMigration[] = [];
  for (const [i, m] of doc.migrations.entries()) {
    const version = canonicalVersion(m.version);
    if (seen.has(version)) {
      errors.push(
        new DbeeError(`migrations.${i}: version ${m.version} is listed twice`, {
          code: 'BASELINE_INVALID',
          location: yaml.locate(['migrations', i, 'version']),
          hint: 'list each folded migration once (dbee baseline <project> writes the file again)',
        }),
      );
      continue;
    }
    seen.add(version);
    folded.push({ version, versionParts: version.split('.').map(Number), file: m.file, checksum: m.checksum });
  }
  folded.sort((a, b) => compareVersions(a.versionParts, b.versionParts));
  const through = folded[folded.length - 1]!;
  const newest = [through.versionParts, ...migrations.map((m) => m.versionParts)].sort(compareVersions).pop()!;
  for (const m of migrations) {
    const version = m.versionParts.join('.');
    if (seen.has(version) || compareVersions(m.versionParts, through.versionParts) > 0) continue;
    const next = [newest[0]! + 1];
    errors.push(
      new DbeeError(
        `migration ${m.version} is older than the baseline (${file.path}, through V${through.version}) but not part of it: a new environment would never run it`,
        {
          code: 'MIGRATION_BEFORE_BASELINE',
          location: { file: m.path, line: 1 },
          hint: `give it a version after the baseline (rename it to V${next.join('.')}__${m.description}.sql, and its rollback script), or record the baseline again if it belongs to the starting state (dbee baseline <project>)`,
        },
      ),
    );
  }
  if (errors.length === 1) throw errors[0]!;
  if (errors.length > 1) throw new DbeeAggregateError(`${errors.length} problems in ${file.path}`, errors);
  return { path: file.path, recorded: doc.recorded, commit: doc.commit, migrations: folded, through };
}

/** The text of a baseline file: a header that says what it does, then the data `readBaseline` reads back. */
export function baselineText(project: string, baseline: Omit<Baseline, 'path' | 'through'>): string {
  const lines = [
    `# The starting state of new environments of ${project}, written by \`dbee baseline ${project}\`: review and commit it.`,
    `# A database whose ledger has nothing of ${project} records these migrations as applied without running them: the`,
    '# sources already describe the schema they led to. Environments that have deployed the project are not affected:',
    '# they keep their history and still run those of these migrations they have not run. A folded migration file may be',
    '# deleted once every existing environment has run it.',
    'version: 1',
    `recorded: ${JSON.stringify(baseline.recorded)}`,
    `commit: ${baseline.commit === null ? 'null' : JSON.stringify(baseline.commit)}`,
    'migrations:',
  ];
  for (const m of baseline.migrations) {
    lines.push(`  - version: ${JSON.stringify(m.version)}`);
    lines.push(`    file: ${JSON.stringify(m.file)}`);
    lines.push(`    checksum: ${JSON.stringify(m.checksum)}`);
  }
  return lines.join('\n') + '\n';
}
