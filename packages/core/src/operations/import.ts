import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { Workspace } from '../config/workspace';
import type { OperationContext } from '../context/operation-context';
import { type Connection, requireRole } from '../engine/engine';
import type { ImportRole } from '../engine/import-role';
import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import { tableName, type TableName } from '../import/history';
import type { ImportedFolder, Importer } from '../import/imported';
import { IMPORTERS } from '../import/tools';
import { appliedMigrations } from '../import/verify';
import { compareWithDisk, type ProjectFile, projectFiles } from '../import/write';
import { migrationVersionOf } from '../model/object-key';
import type { ImportOptions } from '../options';
import type { PlanStep } from '../plan/plan';
import { type AdoptedMigration, adoptWithHistory } from './adopt';

/**
 * `import`: another tool's migration folder as a dbee project (files), then, with `--env`, that tool's history on the
 * environment recorded in dbee's ledger: read, checked against the folder, and recorded through the adoption's
 * pipeline (gates, lock, one ledger-only deployment with the live objects and the applied migrations). Every file is
 * read and checked before one is written; the tool's history table is only read.
 */
export async function importProject(ctx: OperationContext, options: ImportOptions): Promise<ExitCodeValue> {
  const importer = toolOf(options);
  const engine = importRole(ctx, options);
  const source = readFolder(ctx, options, importer, engine);
  const target = writeTarget(ctx, options, source, engine);
  const { write, same } = compareWithDisk(target.root, target.display, target.files);
  report(ctx, options, importer, source, target.display, write, same);
  if (!options.dryRun) writeFiles(target.root, write);
  if (!options.env) {
    if (!options.dryRun)
      ctx.reporter.info(
        `next: review and commit ${target.display}/; \`dbee deploy ${options.project} --env <name>\` builds a new environment from it, and \`dbee import ${options.project} --from ${options.from} ${options.folder} --env <name>\` records what ${importer.tool} applied on an existing one`,
      );
    return ExitCode.ok;
  }
  if (options.dryRun && write.length)
    throw new DbeeError(
      `--env with --dry-run: the project's files are not written yet, and the history is checked against them`,
      {
        code: 'OPTIONS_INVALID',
        hint: `run \`dbee import ${options.project} --from ${options.from} ${options.folder}\` first (files only), then the dry run with --env`,
      },
    );
  return recordHistory(ctx, options, importer, engine, source);
}

/** The engine's import role: an existing project's engine, else PostgreSQL's (a new project is written for it). */
function importRole(ctx: OperationContext, options: ImportOptions): ImportRole {
  const engine = ctx.engine(ctx.workspace.projects.get(options.project)?.config.engine ?? 'postgres');
  return requireRole(engine, 'import', `import another tool's migrations into project ${options.project}`);
}

function toolOf(options: ImportOptions): Importer {
  if (!options.from)
    throw new DbeeError('--from <tool> is required: which tool the folder belongs to', {
      code: 'OPTIONS_INVALID',
      hint: `one of ${Object.keys(IMPORTERS).join(', ')}`,
    });
  return IMPORTERS[options.from];
}

/** The tool's folder, read and checked (every problem together, nothing written). */
function readFolder(ctx: OperationContext, options: ImportOptions, importer: Importer, engine: ImportRole) {
  const folder = ctx.workspace.commandLinePath(options.folder);
  const display = relative(ctx.workspace.root, folder).split('\\').join('/') || '.';
  return { folder, display, imported: importer.read(folder, display, engine) };
}

/** Where the project is (an existing one's folder, else `<workspace>/<project>/`) and the files it gets. */
function writeTarget(
  ctx: OperationContext,
  options: ImportOptions,
  source: { display: string; imported: ImportedFolder },
  engine: ImportRole,
): { root: string; display: string; files: ProjectFile[] } {
  const existing = ctx.workspace.projects.get(options.project);
  const root = existing?.root ?? join(ctx.workspace.root, options.project);
  const display = relative(ctx.workspace.root, root).split('\\').join('/') || '.';
  const variables = existing ? { ...(existing.config.variables ?? {}) } : null;
  if (variables) {
    const missing = Object.keys(source.imported.variables).filter((k) => !Object.hasOwn(variables, k));
    if (missing.length)
      throw new DbeeError(
        `the imported migrations use variables that ${existing!.file.displayPath} does not define: ${missing.join(', ')}`,
        {
          code: 'IMPORT_CONFLICT',
          location: { file: existing!.file.displayPath },
          hint: `add them under \`variables:\` (${missing.map((k) => `${k}: ${JSON.stringify(source.imported.variables[k])}`).join(', ')}), then import again`,
        },
      );
  }
  const schemas = (options.schemas ?? 'public')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!existing) refuseOwnedSchemas(ctx, options, schemas);
  const files = projectFiles(
    source.imported,
    {
      project: options.project,
      tool: options.from!,
      folder: source.display,
      schemas,
      existingVariables: variables as Record<string, string> | null,
    },
    engine,
  );
  return { root, display, files };
}

/**
 * A new project's schemas that another project of the workspace owns already: refused before anything is written (a
 * schema has one owner; written anyway, every later command of the workspace would refuse the two owners).
 */
function refuseOwnedSchemas(ctx: OperationContext, options: ImportOptions, schemas: readonly string[]): void {
  const fold = (name: string) => (/^".*"$/.test(name) ? name.slice(1, -1) : name.toLowerCase());
  for (const other of ctx.workspace.projects.values()) {
    const owned = new Set((other.config.schemas ?? []).map(fold));
    const taken = schemas.filter((s) => owned.has(fold(s)));
    if (!taken.length) continue;
    const at = other.file.locate(['schemas']);
    throw new DbeeError(
      `${options.project} would own schema ${taken.join(', ')}, which project ${other.name} owns already (${at.file}${at.line ? `:${at.line}` : ''}); nothing was written`,
      {
        code: 'IMPORT_CONFLICT',
        location: at,
        hint: `import into that project (dbee import ${other.name} --from ${options.from} ${options.folder}), or name the schemas the migrations use with --schemas${options.schemas ? '' : ' (the default is public)'}`,
        details: { schemas: taken, owner: other.name },
      },
    );
  }
}

/** What the import reads and writes, printed. */
function report(
  ctx: OperationContext,
  options: ImportOptions,
  importer: Importer,
  source: { display: string; imported: ImportedFolder },
  display: string,
  write: ProjectFile[],
  same: ProjectFile[],
): void {
  const { reporter } = ctx;
  const { imported } = source;
  const undo = imported.migrations.filter((m) => m.down !== null).length;
  reporter.info(
    `dbee import ${options.project} --from ${importer.tool} ${source.display}${options.dryRun ? ' [dry run]' : ''}: ${imported.migrations.length} migration(s), ${undo} with an undo script${imported.repeatables.length ? `, ${imported.repeatables.length} repeatable script(s) as object files` : ''}${imported.smoke.length ? `, ${imported.smoke.length} verify script(s) as smoke checks` : ''}`,
  );
  for (const m of imported.migrations)
    reporter.info(
      `  ${m.file} -> migrations/V${m.version}__${m.name}.sql${m.down === null ? ' (rollback refuses to run: no undo script)' : ''}`,
    );
  for (const s of imported.skipped) reporter.info(`  skipped: ${s}`);
  for (const n of imported.notices ?? []) reporter.info(`  note: ${n}`);
  for (const f of write) reporter.info(`  ${options.dryRun ? 'would write' : 'writes'} ${display}/${f.path}`);
  if (same.length) reporter.info(`  ${same.length} file(s) already there with the same contents`);
}

function writeFiles(root: string, files: ProjectFile[]): void {
  for (const f of files) {
    const abs = join(root, f.path);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, f.text);
  }
}

/** `--env`: the tool's history read under the adoption's lock, checked, and recorded with the live objects. */
function recordHistory(
  ctx: OperationContext,
  options: ImportOptions,
  importer: Importer,
  engine: ImportRole,
  source: { folder: string; display: string; imported: ImportedFolder },
): Promise<ExitCodeValue> {
  const { folder, display, imported } = source;
  const table = tableName(options.historyTable ?? importer.tableOf?.(folder, display) ?? importer.table);
  // The project's files may have been written just now: the workspace is read again.
  const fresh: OperationContext = { ...ctx, workspace: Workspace.load(ctx.workspace.root) };
  const { project, env, dryRun, assumeYes, ticket, now } = options;
  return adoptWithHistory(
    fresh,
    { project, env, dryRun, assumeYes, ticket, now },
    {
      command: 'import',
      applied: (steps, conn) => appliedSteps(importer, engine, imported, table, steps, conn),
    },
  );
}

async function appliedSteps(
  importer: Importer,
  engine: ImportRole,
  imported: ImportedFolder,
  named: TableName,
  steps: PlanStep[],
  conn: Connection,
): Promise<AdoptedMigration[]> {
  const table = await engine.findTable(conn, named);
  const shown = (named.schema ? `${named.schema}.` : '') + named.name;
  if (!table)
    throw new DbeeError(`${importer.tool}'s history table ${shown} is not on this environment`, {
      code: 'IMPORT_NO_HISTORY',
      hint: `name it with --history-table [schema.]table if ${importer.tool} keeps it elsewhere; an environment ${importer.tool} never migrated needs no import: \`dbee deploy\` builds it`,
    });
  const history = await importer.history(conn, table, imported, engine);
  const applied = appliedMigrations(importer, imported, history, shown);
  const byVersion = new Map(steps.map((s) => [migrationVersionOf(s.objectKey.name), s]));
  return applied.map(({ migration, evidence }) => {
    const step = byVersion.get(migration.version);
    if (!step)
      throw new DbeeError(`migration V${migration.version} (${migration.file}) is not among the project's migrations`, {
        code: 'IMPORT_CONFLICT',
        hint: 'the project was changed since the import wrote it: import its files again, then the history',
      });
    return { version: migration.version, description: step.source?.file ?? '', checksum: step.checksum, evidence };
  });
}
