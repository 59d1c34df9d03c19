import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImportRole } from '../engine/import-role';
import { DbeeAggregateError, DbeeError } from '../errors';
import { canonicalVersion } from '../sources/discover';
import type { ImportedFolder, ImportedMigration } from './imported';

/** A file the import writes, relative to the project's folder. */
export interface ProjectFile {
  path: string;
  text: string;
}

/** Where the import writes and what it knows of the project there. */
export interface ImportTarget {
  /** dbee project name. */
  project: string;
  /** The tool (`flyway`) and its folder as the user named it, for the notes. */
  tool: string;
  folder: string;
  /** The schemas of a new project's db.yaml. */
  schemas: string[];
  /** The project's variables when it exists already (its db.yaml is left as it is); null for a new project. */
  existingVariables: Record<string, string> | null;
}

/** Every file of the imported project: migrations with their rollbacks, object files, smoke checks, a new db.yaml. */
export function projectFiles(imported: ImportedFolder, target: ImportTarget, engine: ImportRole): ProjectFile[] {
  const files: ProjectFile[] = [];
  if (target.existingVariables === null) files.push({ path: 'db.yaml', text: dbYaml(imported, target) });
  for (const m of imported.migrations) {
    const base = `migrations/V${m.version}__${m.name}`;
    files.push({ path: `${base}.sql`, text: migrationText(m, target.tool) });
    files.push({ path: `${base}.rollback.sql`, text: rollbackText(m, target.tool, engine) });
  }
  for (const r of imported.repeatables)
    files.push({ path: r.path, text: `-- Imported from ${target.tool}: ${r.file} (repeatable)\n${r.text}` });
  for (const s of imported.smoke)
    files.push({ path: s.path, text: `-- Imported from ${target.tool}: ${s.file}\n${s.text}` });
  return files;
}

function dbYaml(imported: ImportedFolder, target: ImportTarget): string {
  const vars = Object.entries(imported.variables);
  return [
    `# Imported by \`dbee import\` from ${target.tool} (${target.folder}): its migrations are migrations/V*.sql, in ${target.tool}'s order.`,
    `# ${target.tool}'s history table is left where it is; \`dbee import ${target.project} --from ${target.tool} ${target.folder} --env <name>\``,
    "# records what it applied on an environment in dbee's ledger.",
    'version: 1',
    `name: ${target.project}`,
    'engine: postgres',
    `schemas: [${target.schemas.join(', ')}]`,
    ...(vars.length ? ['variables:', ...vars.map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)] : []),
    '',
  ].join('\n');
}

function migrationText(m: ImportedMigration, tool: string): string {
  const notes = (m.notes ?? []).map((n) => `-- ${n.replace(/\r?\n/g, ' ')}`);
  return [`-- Imported from ${tool}: ${m.file}`, ...notes, m.up.endsWith('\n') ? m.up : `${m.up}\n`].join('\n');
}

/** The tool's undo script, or a rollback that refuses to run: never one that does nothing and says it undid. */
function rollbackText(m: ImportedMigration, tool: string, engine: ImportRole): string {
  if (m.down !== null) return `-- Imported from ${tool}: the undo script of ${m.file}\n${m.down}`;
  const why = `migration V${m.version} was imported from ${tool} (${m.file}), which has no undo script for it: write its rollback in this file`;
  return [
    `-- ${tool} has no undo script for ${m.file}. Write this rollback before you need it; until then it refuses to run.`,
    `${engine.refusal(why)};`,
    '',
  ].join('\n');
}

/** What writing would change: new files, files already there with the same text; a different one refused. */
export function compareWithDisk(
  root: string,
  display: string,
  files: ProjectFile[],
): { write: ProjectFile[]; same: ProjectFile[] } {
  const problems: DbeeError[] = [];
  const write: ProjectFile[] = [];
  const same: ProjectFile[] = [];
  const versions = existingVersions(root);
  for (const f of files) {
    const abs = join(root, f.path);
    if (existsSync(abs)) {
      if (readFileSync(abs, 'utf8') === f.text) same.push(f);
      else
        problems.push(
          new DbeeError(`${display}/${f.path} exists with other contents`, {
            code: 'IMPORT_CONFLICT',
            location: { file: `${display}/${f.path}` },
            hint: 'the import does not overwrite a file: import into a new project, or move the file away and import again',
          }),
        );
      continue;
    }
    const v = /^migrations\/V(\d+(?:[._]\d+)*)__.*\.sql$/.exec(f.path);
    const other = v ? versions.get(canonicalVersion(v[1]!)) : undefined;
    if (other && !f.path.endsWith('.rollback.sql')) {
      problems.push(
        new DbeeError(`${display}/migrations/${other} already has version ${canonicalVersion(v![1]!)}`, {
          code: 'IMPORT_CONFLICT',
          location: { file: `${display}/migrations/${other}` },
          hint: "the project's migrations and the imported ones share versions: import into a new project",
        }),
      );
      continue;
    }
    write.push(f);
  }
  if (problems.length === 1) throw problems[0]!;
  if (problems.length > 1)
    throw new DbeeAggregateError(
      `${problems.length} files of ${display} are in the way: nothing was written`,
      problems,
    );
  return { write, same };
}

function existingVersions(root: string): Map<string, string> {
  const dir = join(root, 'migrations');
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const v = /^V(\d+(?:[._]\d+)*)__.*\.sql$/.exec(name);
    if (v && !name.endsWith('.rollback.sql')) out.set(canonicalVersion(v[1]!), name);
  }
  return out;
}
