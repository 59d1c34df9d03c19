import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type { DbProject } from '../config/workspace';
import { loadModels, parseCacheOf, schemaOwners } from '../context/load';
import { engineFor, makeReporter, type OperationContext } from '../context/operation-context';
import { desiredModelFor } from '../diffing/desired';
import {
  boardCell,
  boardDeployment,
  releasesOf,
  unreachableCell,
  type BoardCell,
  type BoardDeployment,
  type DocsBoard,
} from '../docs-site/board-data';
import { docsSite, tablePattern, type DocsInput, type DocsSite } from '../docs-site/docs-data';
import { BOARD_PAGE, renderSite } from '../docs-site/site-html';
import { renderMarkdown } from '../docs-site/site-markdown';
import { DbeeAggregateError, DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import { graphView } from '../graph-view/graph-data';
import { formatKey } from '../model/object-key';
import type { DocsOptions } from '../options';
import { parseCommandOptions } from '../options/parse';
import { canonicalJson } from '../plan/serialize';
import { loadSmokeChecks } from '../smoke';
import { judgeProject } from './policy-judgment';

export type { DocsOptions };

/** Where `dbee docs` writes when no `--out` is given (workspace-relative). */
export const DEFAULT_DOCS_DIR = 'dist/dbee/docs';

/**
 * `docs`: the site of the named projects (default all) from their sources, in the chosen format, written to `--out`
 * or, with `--check`, compared with it (exit 1 naming each file that differs). With `--env`, the release board too.
 */
export async function docs(ctx: OperationContext, options: DocsOptions): Promise<ExitCodeValue> {
  const site = await docsSiteFor(ctx, options);
  const dir = ctx.workspace.commandLinePath(options.out ?? DEFAULT_DOCS_DIR);
  const shown = relative(process.cwd(), dir) || '.';
  const files = siteFiles(site, options.format, existsSync(join(dir, BOARD_PAGE)));
  if (options.check) {
    const stale = staleFiles(
      dir,
      files,
      options.format === 'markdown' ? '.md' : options.format === 'json' ? '.json' : '.html',
    );
    if (stale.length) {
      throw new DbeeError(
        `${stale.length} file${stale.length === 1 ? '' : 's'} of the docs in ${shown} differ from the sources:\n${stale.map((s) => `  ${s}`).join('\n')}`,
        {
          code: 'DOCS_STALE',
          hint: `write them again with dbee docs${options.project ? ` ${options.project}` : ''} --format ${options.format} --out ${shown}, and commit them`,
          details: { stale },
        },
      );
    }
    ctx.reporter.info(`docs in ${shown} are up to date (${files.size} files)`);
    return ExitCode.ok;
  }
  for (const [path, text] of files) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    // Unchanged files are not rewritten: their times stay, and a watcher or an Nx output sees only what changed.
    if (!existsSync(file) || readFileSync(file, 'utf8') !== text) writeFileSync(file, text);
  }
  const objects = site.objects.length;
  ctx.reporter.info(
    `${site.projects.map((p) => p.name).join(', ')}: ${objects} objects, ${site.viewpoints.length} diagram${site.viewpoints.length === 1 ? '' : 's'}${site.board ? `, board of ${site.board.environments.join(', ')}` : ''}`,
  );
  const entry = options.format === 'html' ? 'index.html' : options.format === 'markdown' ? 'README.md' : 'docs.json';
  ctx.reporter.info(`docs written to ${shown} (open ${pathToFileURL(join(dir, entry)).href})`);
  return ExitCode.ok;
}

/** The board's data in the JSON format: a file of its own, so that `docs.json` is the sources' alone. */
const BOARD_JSON = 'board.json';

/**
 * The files of `site` in `format`. What the sources make never depends on `--env` (`--check` compares only that):
 * the board is a file of its own (`board.html`, `board.json`), and the pages link to it when this run writes one or
 * one is already there (`boardThere`), so a site once written with `--env` is up to date for `--check` and for a
 * write from the sources alike.
 */
function siteFiles(site: DocsSite, format: DocsOptions['format'], boardThere: boolean): Map<string, string> {
  if (format === 'markdown') return renderMarkdown(site);
  if (format === 'html') return renderSite(site, site.board !== null || boardThere);
  const files = new Map([['docs.json', canonicalJson({ ...site, board: null })]]);
  if (site.board) files.set(BOARD_JSON, canonicalJson(site.board));
  return files;
}

/** Files of `expected` that are missing or different in `dir`, and files there with `ext` that it would not write. */
function staleFiles(dir: string, expected: ReadonlyMap<string, string>, ext: string): string[] {
  const out: string[] = [];
  for (const [path, text] of expected) {
    const file = join(dir, path);
    if (!existsSync(file)) out.push(`${path} (missing)`);
    else if (readFileSync(file, 'utf8') !== text) out.push(`${path} (differs)`);
  }
  const walk = (d: string): string[] =>
    existsSync(d)
      ? readdirSync(d, { withFileTypes: true }).flatMap((e) =>
          e.isDirectory() ? walk(join(d, e.name)) : [relative(dir, join(d, e.name)).split('\\').join('/')],
        )
      : [];
  // The board (`--env`) is the environments' state, not the sources': a board an earlier run wrote is not a file
  // the sources no longer make (writing from the sources leaves it alone, so naming it would never clear).
  for (const path of walk(dir))
    if (path.endsWith(ext) && !expected.has(path) && path !== BOARD_PAGE && path !== BOARD_JSON)
      out.push(`${path} (left over)`);
  return out.sort();
}

/** The projects `--project` names (comma-separated), else every project of the workspace, in deployment order. */
function documentedProjects(ctx: OperationContext, named: string | undefined): DbProject[] {
  const names = named
    ? named
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [...ctx.workspace.projects.keys()].sort();
  const ordered: DbProject[] = [];
  for (const n of names)
    for (const p of ctx.workspace.withDependencies(ctx.workspace.project(n).name))
      if (!ordered.includes(p) && (names.includes(p.name) || !named)) ordered.push(p);
  return ordered;
}

/** The site's data: parse every project, build each documented one's desired model, judge it, read its checks. */
export async function docsSiteFor(ctx: OperationContext, options: DocsOptions): Promise<DocsSite> {
  const environment = ctx.workspace.environment(undefined, ctx.env);
  // Unnamed, every project of the environment's engine (a workspace may hold Teradata projects beside PostgreSQL's).
  const documented = documentedProjects(ctx, options.project).filter(
    (p) => options.project || p.config.engine === environment.engine,
  );
  const engine = engineFor(ctx, environment, documented);
  // The whole workspace's site names every reader across projects; the site of named projects (the Nx target's, cached
  // on their sources and their dependencies' alone) names readers among them and their dependencies only.
  const everyone = options.project
    ? documented
    : [...ctx.workspace.projects.values()].filter((p) => p.config.engine === environment.engine);
  const ordered = [...new Set(everyone.flatMap((p) => ctx.workspace.withDependencies(p.name)))];
  const models = await loadModels(ctx, ordered, environment, engine);
  const modelOf = new Map(models.map((m) => [m.project.name, m]));
  const view = graphView({
    engine: engine.name,
    project: documented[0]?.name ?? '',
    models,
    drawn: models.map((m) => m.project.name),
    schemaOwners: schemaOwners(ctx, environment),
  });
  const inputs: DocsInput[] = [];
  for (const project of documented) {
    const closure = ctx.workspace.withDependencies(project.name).map((p) => modelOf.get(p.name)!);
    const own = modelOf.get(project.name)!;
    const desired = await desiredModelFor(ctx, { engine, environment, models: closure, target: project.name });
    const judged = await judgeProject(ctx, {
      project,
      environment,
      engine,
      models: closure,
      judged: 'all',
      whenConfigured: false,
      // The model just built: its cache file is written in the background, and reading it again would build it twice.
      desired: desired.model,
    });
    const smoke = await loadSmokeChecks(own, engine, parseCacheOf(ctx, engine));
    inputs.push({
      name: project.name,
      engine: engine.name,
      dependsOn: [...(project.config.dependsOn ?? [])],
      root: project.relativeRoot || '.',
      objects: own.objects,
      model: desired.model,
      smoke: smoke.map((c) => ({
        name: c.name,
        file: c.source?.file ?? null,
        line: c.source?.line ?? null,
        kind: c.body.kind,
        text: c.body.kind === 'exists' ? c.body.keys.map(formatKey).join('\n') : c.body.sql,
      })),
      findings: (judged?.judgment.findings ?? []).map((f) => ({
        rule: f.rule,
        level: f.level,
        message: f.message,
        file: f.location?.file ?? null,
        line: f.location?.line ?? null,
        object: f.object,
      })),
      viewpoints: (project.config.docs?.viewpoints ?? []).map((v) => ({
        name: v.name,
        description: v.description ?? '',
        tables: v.tables,
      })),
    });
  }
  const site = docsSite(inputs, view.edges);
  checkViewpoints(documented, site);
  const envs = (options.env ?? [])
    .flatMap((e) => e.split(','))
    .map((e) => e.trim())
    .filter(Boolean);
  if (envs.length) site.board = await readBoard(ctx, envs, documented);
  return site;
}

/** Each `docs.viewpoints` pattern must match a documented table: a typo would draw an empty diagram silently. */
function checkViewpoints(projects: readonly DbProject[], site: DocsSite): void {
  const tables = site.objects.filter((o) => o.kind === 'table').map((o) => `${o.schema}.${o.name}`);
  const errors: DbeeError[] = [];
  for (const p of projects)
    (p.config.docs?.viewpoints ?? []).forEach((v, i) =>
      v.tables.forEach((pattern, j) => {
        if (tables.some((t) => tablePattern(pattern).test(t))) return;
        errors.push(
          new DbeeError(`viewpoint ${v.name} of project ${p.name}: no table matches ${pattern}`, {
            code: 'DOCS_VIEWPOINT_EMPTY',
            location: p.file.locate(['docs', 'viewpoints', i, 'tables', j]),
            hint: 'name tables as schema.name, with * for any characters (sales.order*), of the projects being documented',
          }),
        );
      }),
    );
  if (errors.length === 1) throw errors[0]!;
  if (errors.length)
    throw new DbeeAggregateError(`${errors.length} viewpoints match no table`, errors, 'DOCS_VIEWPOINT_EMPTY');
}

/**
 * The release board: for each environment and project, what `dbee status` and `dbee log` report (their JSON, read
 * through the same operations, so the board says what the terminal says). An environment that cannot be read is
 * marked not reachable, and the page is written anyway.
 */
async function readBoard(
  ctx: OperationContext,
  environments: string[],
  projects: readonly DbProject[],
): Promise<DocsBoard> {
  const { status } = await import('./status');
  const { log } = await import('./log');
  const cells: BoardCell[] = [];
  const history: BoardDeployment[] = [];
  for (const env of environments) {
    ctx.workspace.environment(env, ctx.env);
    let down: string | null = null;
    for (const p of projects) {
      if (down) {
        cells.push(unreachableCell(env, p.name, down));
        continue;
      }
      try {
        const logged = JSON.parse(
          await captured(ctx, (c) => log(c, parseCommandOptions('log', { project: p.name, env, format: 'json' }))),
        ) as { deployments: Record<string, unknown>[] };
        const deployments = logged.deployments.map((e) => boardDeployment(env, p.name, e));
        const report = JSON.parse(
          await captured(ctx, (c) =>
            status(c, parseCommandOptions('status', { project: p.name, env, format: 'json' })),
          ),
        ) as Record<string, unknown>;
        cells.push(boardCell(env, p.name, deployments, report));
        history.push(...deployments);
      } catch (e) {
        if (!(e instanceof DbeeError)) throw e;
        const why = e.message.split('\n')[0]!;
        cells.push(unreachableCell(env, p.name, why));
        // A database that cannot be reached fails alike for every project: say so once, without waiting again.
        if (e.code === 'CONNECTION_FAILED' || e.code === 'CONNECTION_TIMEOUT') down = why;
      }
    }
  }
  history.sort((a, b) => (a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : a.id - b.id));
  return { environments, projects: projects.map((p) => p.name), cells, history, releases: releasesOf(history) };
}

/** Run an operation with its standard output kept (its JSON) and its messages silenced. */
async function captured(ctx: OperationContext, run: (c: OperationContext) => Promise<ExitCodeValue>): Promise<string> {
  let text = '';
  const quiet = new Writable({ write: (_c, _e, done) => done() });
  const stdout = new Writable({
    write: (chunk, _e, done) => {
      text += String(chunk);
      done();
    },
  });
  // Read-only: the board's sessions write nothing (the server refuses it) and notify no one.
  await run({ ...ctx, stdout, reporter: makeReporter(quiet, quiet), readOnly: true });
  return text;
}
