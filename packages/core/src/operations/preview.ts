import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { Writable } from 'node:stream';
import type { ResolvedEnvironment } from '../config/resolve';
import { durationMs } from '../config/units';
import type { PreviewSettings } from '../config/schema';
import { makeReporter, engineFor, type OperationContext } from '../context/operation-context';
import { requireRole, type Engine, type PreviewPlace, type PreviewRecord, type PreviewRole } from '../engine/engine';
import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import { parseCommandOptions, type PreviewOptions } from '../options';
import { HAZARD_KINDS } from '../options/common';
import { withSession } from '../runner/session';
import { openLedger } from '../ledger/open-ledger';
import { check } from './check';
import { copyReferenceData, referenceTables } from './preview-reference';
import { clone } from './clone';
import { deploy } from './deploy';
import { STRATEGIES } from './strategies';
import { inFlightReader } from './strategies/in-flight';
import { smokeTest } from './smoke-test';

export type { PreviewOptions };

/** Defaults of dbee.yaml's `preview:` (config/schema.ts `previewSettings`). */
export const PREVIEW_DEFAULTS = { prefix: 'dbee_preview_', directory: '.dbee/previews' } as const;

/** PostgreSQL's longest identifier: a preview's name is a database name. */
const MAX_NAME = 63;

/** What `dbee preview` works with: the base environment, its engine's role, where previews are made. */
interface PreviewSide {
  base: ResolvedEnvironment;
  engine: Engine;
  role: PreviewRole;
  place: PreviewPlace;
  settings: PreviewSettings;
}

/**
 * `dbee preview <project> <create|drop|list|cleanup>`: a database per pull request, beside the environment's (a
 * database on its server, a folder of embedded ones). `create` makes it (`createPreview`); the structure comes from
 * `clone`, the branch from `deploy` (the pipeline), the checks from `check` and `smoke-test`: no stage of its own.
 */
export async function preview(ctx: OperationContext, options: PreviewOptions): Promise<ExitCodeValue> {
  const side = previewSide(ctx, options);
  switch (options.action) {
    case 'create':
      return createPreview(ctx, options, side);
    case 'drop':
      return dropPreview(ctx, options, side);
    case 'list':
      return listPreviews(ctx, options, side);
    case 'cleanup':
      return cleanupPreviews(ctx, options, side);
  }
}

/** The base environment (one database, not a preview itself), its engine's preview role and the settings. */
function previewSide(ctx: OperationContext, options: PreviewOptions): PreviewSide {
  const { workspace } = ctx;
  const base = workspace.environment(options.env, ctx.env);
  if (base.fleet || base.preview) {
    throw new DbeeError(
      `a preview is made from one database, and ${base.name} is ${base.fleet ? 'a fleet target' : 'a preview'}`,
      {
        code: 'OPTIONS_INVALID',
        hint: 'give --env an environment of one database, e.g. test',
      },
    );
  }
  const engine = engineFor(ctx, base, workspace.withDependencies(options.project));
  const role = requireRole(engine, 'preview', 'make preview databases', 'nothing was changed');
  const settings = workspace.config.preview ?? {};
  const directory = settings.directory ?? PREVIEW_DEFAULTS.directory;
  const place: PreviewPlace = {
    workspaceRoot: workspace.root,
    directory: isAbsolute(directory) ? directory : join(workspace.root, directory),
    prefix: settings.prefix ?? PREVIEW_DEFAULTS.prefix,
  };
  return { base, engine, role, place, settings };
}

/**
 * A preview's full name from `--name`: lower-cased, every run of other characters than letters and digits made `_`,
 * after the prefix (`feature/Login-2` → `dbee_preview_feature_login_2`); a name that has the prefix already is kept.
 * Too long for a database name, it is cut and ends with a hash of the whole, so that two long branches stay apart.
 */
export function previewName(prefix: string, given: string | undefined, action: string): string {
  if (!given?.trim()) {
    throw new DbeeError(`dbee preview <project> ${action} needs --name <branch>`, {
      code: 'OPTIONS_INVALID',
      hint: 'e.g. --name pr-42 (in CI: the pull request number or branch); nothing was changed',
    });
  }
  const bare = given
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (!bare) {
    throw new DbeeError(`--name "${given}" has no letter or digit to name a preview with`, {
      code: 'OPTIONS_INVALID',
      hint: 'e.g. --name pr-42; nothing was changed',
    });
  }
  const full = bare.startsWith(prefix) ? bare : prefix + bare;
  if (full.length <= MAX_NAME) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, MAX_NAME - hash.length - 1)}_${hash}`;
}

/**
 * The preview `name` of `base` as an environment of this run (`Workspace.rememberPreview`): the base's engine,
 * variables and deploy settings, the preview's connection, and no gates: a preview is a throwaway database for one
 * pull request (no ticket, protection, window or promotion applies there).
 */
function previewEnvironment(ctx: OperationContext, side: PreviewSide, name: string): ResolvedEnvironment {
  const { base, role, place } = side;
  const environment: ResolvedEnvironment = {
    name,
    engine: base.engine,
    connection: role.connection(base, place, name),
    variables: base.variables,
    gates: {},
    deploy: base.deploy,
    ...(base.compat ? { compat: base.compat } : {}),
    declaredAt: base.declaredAt,
    ...(base.connectionVariables ? { connectionVariables: base.connectionVariables } : {}),
    preview: { base: base.name },
  };
  ctx.workspace.rememberPreview(environment);
  return environment;
}

/** What `create` did, step by step: the report printed at the end (text or JSON). */
interface PreviewReport {
  preview: string;
  branch: string;
  base: string;
  database: string;
  created: boolean;
  cloned: string[];
  /** Rows copied from the base per table (`schema.name`): the projects' `referenceData` and the rows they reference. */
  reference: Record<string, number>;
  seeded: string[];
  check: string;
  deploy: string;
  smoke: Record<string, string>;
  exitCode: number;
}

/**
 * `create`: make the preview (or find the one made before for this name), and on a new one clone the structure of
 * the project and its dependencies from the base (`clone`, with the migrations the base has run) and run the seed
 * files; then check the application's queries against the branch (`check`, when there is a query source), deploy
 * the branch (`deploy`: the pipeline, with its ledger rows and smoke checks), run the smoke checks of every project,
 * and print the report. A new preview whose structure could not be made is dropped again; one whose structure a killed
 * create did not finish (not recorded made: `PreviewRole.markMade`) is half-made, and made again whole here.
 */
async function createPreview(ctx: OperationContext, options: PreviewOptions, side: PreviewSide) {
  const { base, role, place } = side;
  const name = previewName(place.prefix, options.name, 'create');
  const seeds = seedFiles(ctx, side.settings);
  let existing = (await role.list(base, place)).find((p) => p.name === name);
  if (existing) refuseFolded(existing, options.name!, 'nothing was changed');
  if (existing && existing.base !== base.name) {
    throw new DbeeError(`preview ${name} was made from ${existing.base}, not ${base.name}`, {
      code: 'PREVIEW_OTHER_BASE',
      hint: `use --env ${existing.base}, or drop it first: dbee preview ${options.project} drop --env ${existing.base} --name ${options.name}`,
    });
  }
  if (existing?.halfMade) {
    // A create killed while making its structure (before its reference data or seed files, say): made again whole.
    await role.drop(base, place, name);
    ctx.reporter.info(`preview ${name}: its structure was not finished by an earlier create; it is made again`);
    existing = undefined;
  }
  if (!existing) await refuseBeyondCount(ctx, side);
  const now = options.now ?? new Date();
  const record: PreviewRecord = { name, base: base.name, branch: options.name!, createdAt: now.toISOString() };
  const created = !existing && (await role.create(base, place, record));
  if (!existing && !created) notOurs(side, name);
  const environment = previewEnvironment(ctx, side, name);
  const projects = ctx.workspace.withDependencies(options.project).map((p) => p.name);
  const report: PreviewReport = {
    preview: name,
    branch: options.name!,
    base: base.name,
    database: role.describe(base, place, name),
    created,
    cloned: [],
    reference: {},
    seeded: [],
    check: 'not run',
    deploy: 'not run',
    smoke: {},
    exitCode: ExitCode.ok,
  };
  const sub = subContext(ctx, options);
  sub.reporter.info(`preview ${name} of ${base.name}: ${created ? 'created' : 'updated'} (${report.database})`);
  try {
    // A project of the workspace that an earlier create of this preview did not clone (another release project).
    const uncloned = created ? projects : await unclonedProjects(sub, side, environment, projects);
    if (uncloned.length) await makeStructure(sub, side, environment, uncloned, created ? seeds : [], report, created);
    // Only now is it a preview: a kill before this leaves it half-made (listed so, replaced by the next create).
    if (created) await role.markMade(base, place, name);
    await checkAndDeploy(sub, options, environment, projects, report);
  } catch (e) {
    report.exitCode = e instanceof DbeeError ? e.exitCode : ExitCode.invalid;
    throw e;
  } finally {
    printReport(ctx, options, report);
  }
  return report.exitCode as ExitCodeValue;
}

/**
 * Two names that fold to one database name (`prü-ß-42` and `pr-42` are both `..._pr_42`): the preview of the other
 * is not this one's, refused naming both.
 */
function refuseFolded(existing: PreviewRecord, given: string, nothing: string): void {
  if (existing.branch === given) return;
  throw new DbeeError(
    `--name ${given} and --name ${existing.branch} fold to the same preview, ${existing.name}, which was made for ${existing.branch}`,
    {
      code: 'PREVIEW_NAME_FOLDS',
      hint: `a preview's name keeps letters a-z and digits, lower-cased, and makes the rest _: give a name that differs in those (e.g. with the pull request number); ${nothing}`,
    },
  );
}

/** A database (folder) of the preview's name that carries no preview record: someone else's, never used or dropped. */
function notOurs(side: PreviewSide, name: string): never {
  throw new DbeeError(`${name} exists beside ${side.base.name} and is not a preview made by dbee`, {
    code: 'PREVIEW_NOT_OURS',
    hint: 'give another --name, or another preview.prefix in dbee.yaml; nothing was changed',
  });
}

/** The context the steps of `create` run in: with `--format json`, their output goes to stderr (stdout is the report). */
function subContext(ctx: OperationContext, options: PreviewOptions): OperationContext {
  if (options.format !== 'json') return ctx;
  return { ...ctx, stdout: ctx.stderr, reporter: makeReporter(ctx.stderr, ctx.stderr) };
}

/** `create` refuses one preview more than `preview.maxCount` (of this base), before anything is made. */
async function refuseBeyondCount(ctx: OperationContext, side: PreviewSide): Promise<void> {
  const { maxCount } = side.settings;
  if (maxCount === undefined) return;
  const previews = (await side.role.list(side.base, side.place)).filter((p) => p.base === side.base.name);
  if (previews.length < maxCount) return;
  throw new DbeeError(`${side.base.name} has ${previews.length} previews already, the most preview.maxCount allows`, {
    code: 'PREVIEW_LIMIT',
    location: ctx.workspace.file.locate(['preview', 'maxCount']),
    hint: `drop one (dbee preview <project> drop --env ${side.base.name} --name <branch>), run dbee preview <project> cleanup, or raise preview.maxCount; nothing was changed`,
  });
}

/** The seed files of dbee.yaml, absolute, each checked to exist before anything is made. */
function seedFiles(ctx: OperationContext, settings: PreviewSettings): string[] {
  return (settings.seed ?? []).map((file, i) => {
    const path = join(ctx.workspace.root, file);
    if (relative(ctx.workspace.root, path).startsWith('..') || !existsSync(path)) {
      throw new DbeeError(`preview.seed: ${file} is not a file of the workspace`, {
        code: 'CONFIG_INVALID',
        location: ctx.workspace.file.locate(['preview', 'seed', i]),
        hint: 'name SQL files relative to the workspace root; nothing was changed',
      });
    }
    return path;
  });
}

/**
 * A new preview's structure: each project cloned from the base, dependencies first (kind clone in the preview's
 * ledger, with the base's object states and migrations), then the seed files run. On failure the preview is dropped
 * (a second `create` would otherwise deploy over half a structure).
 */
async function makeStructure(
  ctx: OperationContext,
  side: PreviewSide,
  environment: ResolvedEnvironment,
  projects: string[],
  seeds: string[],
  report: PreviewReport,
  created: boolean,
): Promise<void> {
  const quiet = { ...ctx, stdout: new Writable({ write: (_c, _e, done) => done() }) };
  try {
    for (const project of projects) {
      const options = parseCommandOptions('clone', { project, from: side.base.name, to: environment.name });
      await clone(
        quiet,
        { ...options, assumeYes: true, allowHazards: [...HAZARD_KINDS] },
        {
          migrations: true,
          inFlight: inFlightReader(STRATEGIES),
        },
      );
      report.cloned.push(project);
    }
    const reference = created ? referenceTables(ctx, projects, side.base) : [];
    if (reference.length) {
      const input = { engine: side.engine, base: side.base, preview: environment, bound: side.settings.referenceRows };
      report.reference = await copyReferenceData(ctx, input, reference);
    }
    if (seeds.length) {
      await withSession(
        {
          engine: side.engine,
          environment,
          workspaceRoot: ctx.workspace.root,
          reporter: ctx.reporter,
          deploy: side.base.deploy,
        },
        async ({ conn }) => {
          for (const file of seeds) {
            await conn.execute(readFileSync(file, 'utf8'));
            report.seeded.push(relative(ctx.workspace.root, file).split('\\').join('/'));
          }
        },
      );
    }
  } catch (e) {
    if (!created) throw e;
    await side.role.drop(side.base, side.place, environment.name);
    ctx.reporter.warn(`preview ${environment.name} dropped again: its structure could not be made`);
    throw e;
  }
}

/** The projects of `projects` that the preview's ledger has no deployment of (none cloned there yet). */
async function unclonedProjects(
  ctx: OperationContext,
  side: PreviewSide,
  environment: ResolvedEnvironment,
  projects: string[],
): Promise<string[]> {
  const session = { engine: side.engine, environment, workspaceRoot: ctx.workspace.root, reporter: ctx.reporter };
  return withSession({ ...session, deploy: side.base.deploy }, async ({ conn }) => {
    const ledger = openLedger(conn, side.engine.ledger);
    const out: string[] = [];
    for (const p of projects) if (!(await ledger.deployments.list(p, environment.name, 1)).length) out.push(p);
    return out;
  });
}

/**
 * The branch on the preview: the application's queries checked against what it changes (`check`, when the base has
 * a query source or `--queries` names one), then deployed (`deploy`), then every project's smoke checks.
 */
async function checkAndDeploy(
  ctx: OperationContext,
  options: PreviewOptions,
  environment: ResolvedEnvironment,
  projects: string[],
  report: PreviewReport,
): Promise<void> {
  const env = environment.name;
  const project = options.project;
  if (options.queries || (environment.compat && environment.compat.mode !== 'off')) {
    report.check = 'failed';
    await check(ctx, parseCommandOptions('check', { project, env, queries: options.queries, now: options.now }));
    report.check = 'passed';
  } else report.check = 'not run (no query source: --queries, or compat.queries of the environment)';
  report.deploy = 'failed';
  const code = await deploy(ctx, parseCommandOptions('deploy', { project, env, assumeYes: true, now: options.now }));
  report.deploy = code === ExitCode.ok ? 'succeeded' : `exit ${code}`;
  report.exitCode = code;
  for (const p of projects) {
    const smoke = await smokeTest(ctx, parseCommandOptions('smoke-test', { project: p, env }));
    report.smoke[p] = smoke === ExitCode.ok ? 'passed' : 'failed';
    if (smoke !== ExitCode.ok && report.exitCode === ExitCode.ok) report.exitCode = smoke;
  }
}

function printReport(ctx: OperationContext, options: PreviewOptions, report: PreviewReport): void {
  if (options.format === 'json') {
    ctx.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return;
  }
  const smoke = Object.entries(report.smoke).map(([p, s]) => `${p} ${s}`);
  ctx.stdout.write(
    [
      `preview ${report.preview} (branch ${report.branch}) of ${report.base}: ${report.database}`,
      `  structure: ${report.cloned.length ? `cloned ${report.cloned.join(', ')} from ${report.base}` : report.created ? 'not made' : 'kept (made by an earlier create)'}`,
      ...(Object.keys(report.reference).length
        ? [
            `  reference data: ${Object.entries(report.reference)
              .map(([t, n]) => `${t} (${n} row${n === 1 ? '' : 's'})`)
              .join(', ')} from ${report.base}`,
          ]
        : []),
      ...(report.seeded.length ? [`  seed: ${report.seeded.join(', ')}`] : []),
      `  check: ${report.check}`,
      `  deploy: ${report.deploy}`,
      `  smoke: ${smoke.length ? smoke.join(', ') : 'not run'}`,
      `  result: ${report.exitCode === ExitCode.ok ? 'ready' : `failed (exit ${report.exitCode})`}`,
    ].join('\n') + '\n',
  );
}

/** `drop`: drop the preview `--name`; one that is not there is said, and is not an error (the pull request's close job). */
async function dropPreview(ctx: OperationContext, options: PreviewOptions, side: PreviewSide) {
  const name = previewName(side.place.prefix, options.name, 'drop');
  const found = (await side.role.list(side.base, side.place)).find((p) => p.name === name);
  if (found) refuseFolded(found, options.name!, 'nothing was dropped');
  if (found && found.base !== side.base.name) {
    throw new DbeeError(`preview ${name} was made from ${found.base}, not ${side.base.name}`, {
      code: 'PREVIEW_OTHER_BASE',
      hint: `use --env ${found.base}; nothing was dropped`,
    });
  }
  if (!found || !(await side.role.drop(side.base, side.place, name))) {
    ctx.reporter.info(`no preview ${name} beside ${side.base.name}: nothing to drop`);
    return ExitCode.ok;
  }
  ctx.reporter.info(`preview ${name} of ${side.base.name} dropped`);
  return ExitCode.ok;
}

/** `list`: the previews of the base environment, oldest first, with their age. */
async function listPreviews(ctx: OperationContext, options: PreviewOptions, side: PreviewSide) {
  const previews = (await side.role.list(side.base, side.place)).filter((p) => p.base === side.base.name || p.halfMade);
  const now = options.now ?? new Date();
  if (options.format === 'json') {
    ctx.stdout.write(JSON.stringify({ base: side.base.name, previews }, null, 2) + '\n');
    return ExitCode.ok;
  }
  if (!previews.length) ctx.stdout.write(`no previews of ${side.base.name}\n`);
  for (const p of previews)
    ctx.stdout.write(
      p.halfMade
        ? `${p.name}  half-made${p.branch ? ` (branch ${p.branch})` : ''}: a create that did not finish; cleanup drops it, a create of its name replaces it\n`
        : `${p.name}  branch ${p.branch}  created ${p.createdAt} (${age(now, p.createdAt)} ago)\n`,
    );
  return ExitCode.ok;
}

/**
 * `cleanup`: drop the orphans, i.e. the previews of the base older than `preview.maxAge`, then the oldest beyond
 * `preview.maxCount`. Refused when dbee.yaml sets neither (nothing says what an orphan is).
 */
async function cleanupPreviews(ctx: OperationContext, options: PreviewOptions, side: PreviewSide) {
  const { maxAge, maxCount } = side.settings;
  if (maxAge === undefined && maxCount === undefined) {
    throw new DbeeError('dbee preview <project> cleanup needs preview.maxAge or preview.maxCount in dbee.yaml', {
      code: 'CONFIG_INVALID',
      location: ctx.workspace.file.locate(ctx.workspace.config.preview ? ['preview'] : []),
      hint: 'e.g. preview: { maxAge: 7d, maxCount: 10 }; nothing was dropped',
    });
  }
  const now = options.now ?? new Date();
  const all = await side.role.list(side.base, side.place);
  // A half-made preview (a killed create) is nobody's preview yet: dropped whatever its age.
  const halfMade = all.filter((p) => p.halfMade);
  const previews = all.filter((p) => p.base === side.base.name && !p.halfMade);
  const tooOld =
    maxAge === undefined ? [] : previews.filter((p) => now.getTime() - Date.parse(p.createdAt) > durationMs(maxAge));
  const kept = previews.filter((p) => !tooOld.includes(p));
  const beyond = maxCount === undefined ? [] : kept.slice(0, Math.max(0, kept.length - maxCount));
  const drops = [
    ...halfMade.map((p) => ({ p, why: 'half-made by a create that did not finish' })),
    ...tooOld.map((p) => ({ p, why: `older than ${maxAge}` })),
    ...beyond.map((p) => ({ p, why: `beyond ${maxCount} previews` })),
  ];
  for (const { p, why } of drops) {
    if (!options.dryRun) await side.role.drop(side.base, side.place, p.name);
    ctx.reporter.info(
      `${options.dryRun ? 'would drop' : 'dropped'} preview ${p.name} (${p.halfMade ? 'no branch yet' : `branch ${p.branch}, ${age(now, p.createdAt)} old`}): ${why}`,
    );
  }
  ctx.reporter.info(
    `${side.base.name}: ${drops.length} preview${drops.length === 1 ? '' : 's'} ${options.dryRun ? 'to drop' : 'dropped'}, ${previews.length + halfMade.length - drops.length} kept${options.dryRun ? ' (dry run: nothing was dropped)' : ''}`,
  );
  return ExitCode.ok;
}

/** `3d`, `5h`, `12m`: how long ago `iso` was. */
function age(now: Date, iso: string): string {
  const ms = Math.max(0, now.getTime() - Date.parse(iso));
  if (ms >= 86_400_000) return `${Math.floor(ms / 86_400_000)}d`;
  if (ms >= 3_600_000) return `${Math.floor(ms / 3_600_000)}h`;
  return `${Math.floor(ms / 60_000)}m`;
}
