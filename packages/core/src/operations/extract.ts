import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { durationMs } from '../config/units';
import type { ResolvedEnvironment } from '../config/resolve';
import type { DbProject } from '../config/workspace';
import { PROJECT_FILE } from '../config/workspace';
import {
  requireRole,
  type AuditEvent,
  type Connection,
  type Engine,
  type ExtractedObject,
  type KeyNameRules,
  type OutsideUse,
} from '../engine/engine';
import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import { formatKey, parseKey, type ObjectKey } from '../model/object-key';
import { openLedger } from '../ledger/open-ledger';
import { expandPlaceholders } from '../sources/placeholders';
import { keyName } from '../sources/key-name';
import type { ExtractOptions } from '../options';
import type { SchemaScope } from '../schema/managed-scope';
import { globSubject, objectGlobPattern } from '../model/object-glob';
import type { OperationContext } from '../context/operation-context';
import { loadModels, schemaOwners } from '../context/load';
import { graphProject, projectManagedScope, type ProjectModel } from '../planner/project-model';
import { withSession } from '../runner/session';
import { readSelection, refuseUnmatched, selectsKey, type Selection } from '../planner/selection';

export type { ExtractOptions };

/** `--since 24h` (ago) or an ISO time, relative to `now`. */
export function sinceTime(text: string, now: Date): Date {
  const t = text.trim();
  const ago = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(t);
  if (ago) return new Date(now.getTime() - durationMs(t as `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`));
  const at = Date.parse(t);
  if (Number.isNaN(at)) {
    throw new DbeeError(`--since ${text}: expected a time (2026-11-20T08:00:00Z) or a duration ago (24h, 10m, 7d)`, {
      code: 'OPTIONS_INVALID',
    });
  }
  return new Date(at);
}

/** Where extract writes: the project's folder and schemas, or a new folder (db.yaml written) for an unknown project. */
interface ExtractTarget {
  name: string;
  root: string;
  schemas: string[];
  project: DbProject | null;
}

function targetOf(ctx: OperationContext, options: ExtractOptions): ExtractTarget {
  const known =
    ctx.workspace.projects.get(options.project) ?? ctx.workspace.projects.get(options.project.replace(/^db-/, ''));
  if (known) {
    const environment = ctx.workspace.environment(options.env, ctx.env);
    const variables = ctx.workspace.settings(known, environment).variables;
    return {
      name: known.name,
      root: known.root,
      schemas: graphProject(
        known,
        variables,
        ctx.workspace.projects,
        ctx.engine(environment.engine).capabilities.keyNames,
      ).schemas,
      project: known,
    };
  }
  if (!/^[A-Za-z_][A-Za-z0-9_$-]*$/.test(options.project)) {
    throw new DbeeError(`"${options.project}" is not a project name`, {
      code: 'OPTIONS_INVALID',
      hint: 'use letters, digits, "_", "-" or "$"',
    });
  }
  // Read as db.yaml's names are (graphProject): `Sales` is sales on PostgreSQL, `"Sales"` keeps its case.
  const rules = ctx.engine(ctx.workspace.environment(options.env, ctx.env).engine).capabilities.keyNames;
  const schemas = typedSchemas(options).map((s) => keyName(s, rules));
  const root = ctx.workspace.commandLinePath(options.out ?? options.project);
  if (existsSync(join(root, PROJECT_FILE))) {
    throw new DbeeError(
      `${relative(ctx.workspace.root, join(root, PROJECT_FILE))} exists but is not project ${options.project}`,
      {
        code: 'OPTIONS_INVALID',
        hint: 'name the project as its db.yaml does, or choose another --out folder',
      },
    );
  }
  return { name: options.project, root, schemas, project: null };
}

/**
 * `extract`: the live objects of a project's schemas as source files in the project layout (the engine writes the
 * text: `Engine.extract.objects`), `db.yaml` created when the folder has none (with `dependsOn` for the projects whose schemas
 * the objects use). `--objects` keeps objects whose `kind:schema.name` matches a glob; `--since`/`--by` keep objects
 * the audit trail saw changed in that period / by that role, and refuse (exit 1) when auditing did not cover the period.
 * Reads under the deployment lock; writes files only.
 */
export async function extract(ctx: OperationContext, options: ExtractOptions): Promise<ExitCodeValue> {
  const { workspace } = ctx;
  const environment = workspace.environment(options.env, ctx.env);
  const target = targetOf(ctx, options);
  const engine = ctx.engine(environment.engine);
  const extractRole = requireRole(engine, 'extract', 'extract objects');
  // --objects-from: the list format of deploy's selection, read (and a missing file refused) before connecting.
  const listed = options.objectsFrom
    ? readSelection({ objectsFrom: options.objectsFrom }, (p) => workspace.commandLinePath(p))
    : null;
  const now = options.now ?? new Date();
  const ownedSchemas = ownerSchemas(options, target, engine, extractRole);
  const scope: SchemaScope = {
    schemas: target.schemas,
    ...(target.project
      ? {
          manage: projectManagedScope(
            workspace.root,
            target.project,
            workspace.settings(target.project, environment).variables,
          ),
        }
      : {}),
    sourceNames: sourceNames(ctx, environment),
  };
  const live = await withSession(
    { engine, environment, workspaceRoot: workspace.root, reporter: ctx.reporter },
    async ({ conn }) => {
      if (ownedSchemas) {
        const under = await ownedSchemas.call(extractRole, conn, options.owner!);
        if (!under.length)
          throw new DbeeError(`--owner ${options.owner}: no such database on ${environment.name}`, {
            code: 'OPTIONS_INVALID',
            hint: 'name a database or user that exists on the environment',
          });
        target.schemas = under;
        scope.schemas = under;
        ctx.reporter.info(`--owner ${options.owner}: ${under.join(', ')}`);
      }
      const objects = await extractRole.objects(conn, scope);
      return {
        description: conn.description,
        changed:
          options.since !== undefined || options.by !== undefined
            ? await auditedChanges(engine, conn, environment.name, target.schemas, options, now)
            : null,
        objects,
        outside: extractRole.outsideUses ? await extractRole.outsideUses(conn, scope, objects) : [],
        unwritten: extractRole.unwritten ? await extractRole.unwritten(conn, scope) : [],
        external: !target.project && extractRole.externalNames ? await extractRole.externalNames(conn, scope) : [],
        deployed: target.project
          ? [...(await openLedger(conn, engine.ledger).objects.deployedState(target.project.name)).objects.keys()]
          : [],
      };
    },
  );
  if (!target.project && !live.objects.length && !live.unwritten.length && !ownedSchemas)
    refuseNothing(options, target, environment);
  const selected = selectObjects(ctx, options, live, listed, environment.name);
  // The project's model, loaded once for --delete-dropped and the existing layout (when either needs it).
  let loaded: Promise<ProjectModel> | undefined;
  const projectModel = () => (loaded ??= loadModels(ctx, [target.project!], environment, engine).then(([m]) => m!));
  if (target.project) await reportDeleted(ctx, options, environment, target.project, live, projectModel);
  ctx.reporter.info(
    `dbee extract ${target.name} <- ${environment.name} (${live.description}): ${selected.length} of ${live.objects.length} object file${live.objects.length === 1 ? '' : 's'}${options.dryRun ? ' [dry run]' : ''}`,
  );
  await writeObjectFiles(ctx, options, engine, environment, target, selected, live, projectModel);
  return ExitCode.ok;
}

/**
 * A new project of schemas that hold nothing, not even themselves (PostgreSQL extracts each schema it finds): a
 * db.yaml for them would be a project of nothing, most often a name typed in another case.
 */
function refuseNothing(options: ExtractOptions, target: ExtractTarget, environment: ResolvedEnvironment): never {
  const typed = typedSchemas(options);
  const folded = typed.some((s, i) => s !== target.schemas[i]);
  throw new DbeeError(
    `nothing to extract: ${target.schemas.join(', ')} on ${environment.name} ${target.schemas.length === 1 ? 'has' : 'have'} no objects (no such schema?); nothing was written`,
    {
      code: 'OPTIONS_INVALID',
      hint: folded
        ? `--schemas names are read as SQL reads them (${typed.join(', ')} is ${target.schemas.join(', ')}): quote a name with capitals, e.g. --schemas '"${typed[0]}"'`
        : 'name schemas that exist on the environment with --schemas a,b',
    },
  );
}

/** What extract read under the lock. */
interface LiveObjects {
  description: string;
  /** The audit trail's changes in `--since`/`--by`, or null when neither is given. */
  changed: AuditEvent[] | null;
  objects: ExtractedObject[];
  /** Objects the engine cannot write as files, described. */
  unwritten: string[];
  /** Objects outside the extracted schemas that the extracted objects use (`ExtractRole.outsideUses`). */
  outside: OutsideUse[];
  /** Qualified names no project defines (an extension's objects): no `dependsOn` from them. */
  external: string[];
  /** The keys the ledger says dbee deployed for the project. */
  deployed: string[];
}

/**
 * `--owner`: the engine's hierarchy of schemas under an owner (Teradata), for a project that has no db.yaml yet.
 * Null without `--owner`; refused for a known project (its db.yaml lists its schemas) or an engine without one.
 */
function ownerSchemas(
  options: ExtractOptions,
  target: ExtractTarget,
  engine: Engine,
  extractRole: NonNullable<Engine['extract']>,
): NonNullable<Engine['extract']>['ownedSchemas'] | null {
  if (options.owner !== undefined && target.project) {
    throw new DbeeError(
      `--owner ${options.owner}: project ${target.name} lists its schemas in ${target.project.file.displayPath}`,
      {
        code: 'OPTIONS_INVALID',
        hint: 'use --owner for a project that has no db.yaml yet (it writes one with those schemas), or list the databases under schemas: in db.yaml',
      },
    );
  }
  const ownedSchemas = options.owner === undefined ? null : extractRole.ownedSchemas;
  if (options.owner !== undefined && !ownedSchemas) {
    throw new DbeeError(`--owner: the ${engine.name} engine has no owner hierarchy of schemas`, {
      code: 'ENGINE_CAPABILITY',
      hint: 'list the schemas with --schemas',
    });
  }
  return ownedSchemas ?? null;
}

/**
 * The objects `--objects` (a glob), `--objects-from` (a list: a line that names no live object is refused, with its
 * file and line, before anything is written) and `--since`/`--by` (the audit trail) keep; the drops the audit trail
 * saw are said.
 */
function selectObjects(
  ctx: OperationContext,
  options: ExtractOptions,
  live: LiveObjects,
  listed: Selection | null,
  environment: string,
): ExtractedObject[] {
  const { objects, changed } = live;
  let selected = objects;
  if (options.objects) {
    const re = new RegExp(objectGlobPattern(options.objects));
    selected = selected.filter((o) => re.test(globSubject(o.key)));
  }
  if (listed) {
    refuseUnmatched(
      listed,
      objects.map((o) => o.key),
      `on ${environment}`,
    );
    selected = selected.filter((o) => selectsKey(listed, o.key));
  }
  if (!changed) return selected;
  const touched = new Set(
    changed.flatMap((e) => (e.key ? [`${e.key.schema}.${e.key.name}`, `schema:${e.key.name}`] : [])),
  );
  selected = selected.filter((o) =>
    o.key.kind === 'schema' ? touched.has(`schema:${o.key.name}`) : touched.has(`${o.key.schema}.${o.key.name}`),
  );
  const dropped = changed.filter((e) => e.event === 'drop' && e.key && !objects.some((o) => sameObject(o.key, e.key!)));
  for (const e of dropped)
    ctx.reporter.info(
      `  dropped by ${e.role} at ${e.at}: ${e.objectType} ${e.identity} (its file, if any, is left for you to remove)`,
    );
  return selected;
}

/**
 * Objects the ledger says dbee deployed that the database no longer has (an engine whose catalog keeps no trace of a
 * drop, like Teradata's DBC, reports drops only this way), said, and their files deleted with `--delete-dropped`.
 * Kinds the engine never writes as files of their own (indexes, grants...) are not looked for.
 */
async function reportDeleted(
  ctx: OperationContext,
  options: ExtractOptions,
  environment: ResolvedEnvironment,
  project: DbProject,
  live: LiveObjects,
  projectModel: () => Promise<ProjectModel>,
): Promise<void> {
  const { objects, changed, deployed } = live;
  const variables = ctx.workspace.settings(project, environment).variables;
  const kinds = new Set(objects.map((o) => o.key.kind));
  const present = new Set(objects.map((o) => `${o.key.kind}:${o.key.schema}.${o.key.name}`.toUpperCase()));
  const reported = new Set(
    (changed ?? [])
      .filter((e) => e.event === 'drop' && e.key)
      .map((e) => `${e.key!.schema}.${e.key!.name}`.toUpperCase()),
  );
  const gone: string[] = [];
  for (const key of deployed) {
    let k: ObjectKey;
    try {
      k = parseKey(expandPlaceholders(key, variables, key).expanded);
    } catch {
      continue;
    }
    if (
      !kinds.has(k.kind) ||
      k.schema === null ||
      present.has(`${k.kind}:${k.schema}.${k.name}`.toUpperCase()) ||
      reported.has(`${k.schema}.${k.name}`.toUpperCase())
    )
      continue;
    gone.push(key);
    ctx.reporter.info(
      `  deleted on ${environment.name}: ${formatKey(k)} (deployed by dbee, no longer in the database${options.deleteDropped ? '' : '; its file, if any, is left for you to remove'})`,
    );
  }
  if (options.deleteDropped && gone.length)
    await deleteDroppedFiles(ctx, await projectModel(), gone, options.dryRun ?? false);
}

/**
 * The selected objects written as files (into an existing project, an object the project already defines in another
 * file goes to that file), and db.yaml for a new project. What the engine cannot write as files yet is said, not
 * silently left out. A whole extract that leaves objects out did not do what was asked (the project does not hold the
 * schema): exit 1 once the rest is written. A selection (--objects, --since, --by) may not have asked for them: a
 * warning.
 */
async function writeObjectFiles(
  ctx: OperationContext,
  options: ExtractOptions,
  engine: Engine,
  environment: ResolvedEnvironment,
  target: ExtractTarget,
  selected: ExtractedObject[],
  live: LiveObjects,
  projectModel: () => Promise<ProjectModel>,
): Promise<void> {
  const { reporter, workspace } = ctx;
  const { unwritten } = live;
  const rel = (p: string) => relative(workspace.root, join(target.root, p)).split('\\').join('/');
  const writes = target.project
    ? await intoExistingLayout(ctx, engine, target.project, projectModel, selected)
    : selected.map((o) => ({ ...o, keys: [formatKey(o.key)] }));
  for (const o of selected) if (o.note) reporter.warn(o.note);
  for (const o of writes) {
    reporter.info(`  ${options.dryRun ? 'would write' : 'write'} ${rel(o.path)}  (${o.keys.join(', ')})`);
    if (options.dryRun) continue;
    const file = join(target.root, o.path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, o.text);
  }
  const whole = !options.objects && options.since === undefined && options.by === undefined;
  const incomplete = unwritten.length
    ? `${unwritten.length} object${unwritten.length === 1 ? '' : 's'} of ${target.schemas.join(', ')} on ${environment.name} ${unwritten.length === 1 ? 'is' : 'are'} not written (dbee extract cannot write ${unwritten.length === 1 ? 'its kind' : 'their kinds'} as files yet):\n${unwritten.map((u) => `  ${u}`).join('\n')}`
    : null;
  if (incomplete && !whole) reporter.warn(`${incomplete}\n(write their files by hand if the project needs them)`);
  if (!target.project) {
    const yaml = dbYaml(
      target,
      dependencies(ctx, environment, target, live.objects, new Set(live.external)),
      engine.capabilities.keyNames,
    );
    reporter.info(`  ${options.dryRun ? 'would write' : 'write'} ${rel(PROJECT_FILE)}`);
    if (!options.dryRun) {
      mkdirSync(target.root, { recursive: true });
      writeFileSync(join(target.root, PROJECT_FILE), yaml);
    }
  }
  warnOutside(ctx, environment, target, live.outside);
  if (incomplete && whole)
    throw new DbeeError(incomplete, {
      code: 'EXTRACT_INCOMPLETE',
      hint: `${options.dryRun ? 'the other files would be written' : 'the other files are written'}; write these by hand, or extract a selection that leaves them out (--objects, e.g. --objects 'table:*')`,
      details: { unwritten },
    });
}

/**
 * The objects outside the extracted schemas that the extracted ones use and that no project of the workspace defines
 * (a function in `public` a view calls): said, since a deployment of the project to a new database fails without
 * them. Those of a schema another project owns are that project's (`dependsOn`), and say nothing.
 */
function warnOutside(
  ctx: OperationContext,
  environment: ResolvedEnvironment,
  target: ExtractTarget,
  outside: readonly OutsideUse[],
): void {
  const owners = schemaOwners(ctx, environment);
  const alone = outside.filter((o) => !owners.has(o.schema) && !target.schemas.includes(o.schema));
  if (!alone.length) return;
  const one = alone.length === 1;
  const schemas = [...new Set(alone.map((o) => o.schema))].sort();
  const shown = (users: string[]) =>
    users.length > 3 ? `${users.slice(0, 3).join(', ')} and ${users.length - 3} more` : users.join(', ');
  ctx.reporter.warn(
    [
      `${alone.length} object${one ? '' : 's'} outside ${target.schemas.join(', ')} that the extracted objects use ${one ? 'is' : 'are'} in no project of the workspace; a deployment of ${target.name} to a new database fails without ${one ? 'it' : 'them'}:`,
      ...alone.map((o) => `  ${o.object} (used by ${shown(o.usedBy)})`),
      `extract ${schemas.length === 1 ? 'its schema' : 'their schemas'} too (--schemas ${[...target.schemas, ...schemas].join(',')}), or into a project that ${target.name} depends on, or write ${one ? 'it' : 'them'} in a file of ${target.name}; a target where ${one ? 'it exists' : 'they exist'} already needs nothing`,
    ].join('\n'),
  );
}

/** Every project's schemas as deployed on `environment` → as its db.yaml writes them (placeholders). */
export function sourceNames(ctx: OperationContext, environment: ResolvedEnvironment): Record<string, string> {
  const out: Record<string, string> = {};
  const rules = ctx.engine(environment.engine).capabilities.keyNames;
  for (const project of ctx.workspace.projects.values()) {
    const variables = ctx.workspace.settings(project, environment).variables;
    for (const template of project.config.schemas) {
      if (!template.includes('{{')) continue;
      try {
        out[keyName(expandPlaceholders(template, variables, project.file.displayPath).expanded, rules)] = template;
      } catch {
        // A project whose variables this environment does not define: its names stay as they are.
      }
    }
  }
  return out;
}

function sameObject(a: ObjectKey, b: ObjectKey): boolean {
  return a.schema === b.schema && a.name === b.name;
}

/** The changes the audit trail recorded for `--since`/`--by`; refuses when the trail does not cover the period. */
async function auditedChanges(
  engine: Engine,
  conn: Connection,
  environment: string,
  schemas: string[],
  options: { since?: string; by?: string },
  now: Date,
): Promise<AuditEvent[]> {
  const since = options.since !== undefined ? sinceTime(options.since, now) : undefined;
  const periods = engine.audit ? await engine.audit.periods(conn) : [];
  const period = since ? `since ${since.toISOString()}` : 'for the changes asked';
  if (!engine.audit || !periods.length) {
    throw new DbeeError(
      `auditing was not enabled on this environment, so dbee cannot tell what changed ${period}${options.by ? ` or who changed it` : ''}`,
      {
        code: 'AUDIT_NOT_ENABLED',
        hint: engine.audit
          ? 'run `dbee audit <project> --env <env> --enable` (a superuser on a server); changes made from then on can be extracted with --since/--by. Without them, extract takes every object'
          : `the ${engine.name} engine has no audit trail; extract without --since/--by`,
      },
    );
  }
  // Every moment from `since` to now must fall in a recording period.
  const covered = since === undefined || coveredFrom(periods, since, now);
  if (!covered) {
    const list = periods.map((p) => `${p.from.toISOString()} .. ${p.to ? p.to.toISOString() : 'now'}`).join(', ');
    throw new DbeeError(
      `auditing was not enabled for the whole period ${period} (recorded: ${list}), so changes made outside it are unknown`,
      {
        code: 'AUDIT_NOT_ENABLED',
        hint: `ask for a period auditing covered (--since ${periods.at(-1)!.from.toISOString()} or later), or extract without --since/--by`,
      },
    );
  }
  if (options.by !== undefined && engine.audit.roleExists && !(await engine.audit.roleExists(conn, options.by))) {
    throw new DbeeError(`--by ${options.by}: no role of that name on ${environment}, so it changed nothing`, {
      code: 'OPTIONS_INVALID',
      hint: 'name a role of the database (dbee audit <project> --env <env> lists who changed what)',
    });
  }
  return engine.audit.events(conn, { schemas, since, by: options.by });
}

function coveredFrom(periods: { from: Date; to: Date | null }[], since: Date, now: Date): boolean {
  let t = since.getTime();
  for (const p of [...periods].sort((a, b) => a.from.getTime() - b.from.getTime())) {
    if (p.from.getTime() > t) return false;
    const end = p.to ? p.to.getTime() : Infinity;
    if (end >= t) t = end;
    if (t >= now.getTime()) return true;
  }
  return t >= now.getTime();
}

/** Projects of the workspace whose schemas the extracted objects use (for a new db.yaml's dependsOn). */
function dependencies(
  ctx: OperationContext,
  environment: ResolvedEnvironment,
  target: ExtractTarget,
  objects: ExtractedObject[],
  external: ReadonlySet<string>,
): string[] {
  const owners = schemaOwners(ctx, environment);
  const deps = new Set<string>();
  const own = new Set(target.schemas);
  for (const o of objects) {
    for (const m of o.text.matchAll(/\b("?)([a-z_][a-z0-9_$]*)\1\.("?)([A-Za-z_][A-Za-z0-9_$]*)\3/g)) {
      const schema = m[2]!;
      if (external.has(`${schema}.${m[4]}`)) continue;
      const owner = owners.get(schema);
      if (owner && !own.has(schema) && owner !== target.name) deps.add(owner);
    }
  }
  return [...deps].sort();
}

/** `--schemas` (default: the project's name) as typed, for a project that has no db.yaml yet. */
function typedSchemas(options: ExtractOptions): string[] {
  return (options.schemas ?? options.project)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function dbYaml(target: ExtractTarget, dependsOn: string[], rules: KeyNameRules | undefined): string {
  // A name that reads back as another (capitals on PostgreSQL) is written quoted, as db.yaml reads it (graphProject).
  const name = (s: string) =>
    keyName(s, rules) === s && /^[A-Za-z_][A-Za-z0-9_$]*$/.test(s)
      ? s
      : `'"${s.replace(/"/g, '""').replace(/'/g, "''")}"'`;
  return [
    `# Extracted by dbee extract from a live database; edit freely.`,
    `version: 1`,
    `name: ${target.name}`,
    `engine: postgres`,
    `schemas: [${target.schemas.map(name).join(', ')}]`,
    ...(dependsOn.length ? [`dependsOn: [${dependsOn.join(', ')}]`] : []),
    '',
  ].join('\n');
}

/** A file extract writes: its path relative to the project folder, its text, the objects it defines. */
interface FileWrite {
  path: string;
  text: string;
  keys: string[];
}

/**
 * `--delete-dropped`: the files of objects dbee deployed that the database no longer has (`gone`, ledger keys). A file
 * is deleted only when every object it defines is gone; one that also defines an object still there (or one not
 * deployed yet) is kept and named. Objects the ledger does not know are never looked for: a file of the project the
 * database lacks may be an object not deployed yet.
 */
async function deleteDroppedFiles(
  ctx: OperationContext,
  model: ProjectModel,
  gone: string[],
  dryRun: boolean,
): Promise<void> {
  const byFile = new Map<string, string[]>();
  for (const o of model.objects) byFile.set(o.location.file, [...(byFile.get(o.location.file) ?? []), o.id]);
  const dropped = new Set(gone);
  for (const [file, keys] of [...byFile].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const there = keys.filter((k) => !dropped.has(k));
    if (there.length === keys.length) continue;
    if (there.length) {
      ctx.reporter.warn(
        `${file} also defines ${there.join(', ')}: not deleted (remove the definition of ${keys.filter((k) => dropped.has(k)).join(', ')} by hand)`,
      );
      continue;
    }
    ctx.reporter.info(`  ${dryRun ? 'would delete' : 'delete'} ${file}  (${keys.join(', ')})`);
    if (!dryRun) rmSync(join(ctx.workspace.root, file));
  }
}

/**
 * The extracted files laid out as an existing project has them: a statement whose object the project defines in
 * another file (a trigger in `triggers/orders_touch.sql` rather than in its table's file, say) is written to that file
 * instead, so that no object is defined twice. A file of the project is rewritten only when every object it defines
 * comes back from the database; otherwise its objects are left out of the extracted files and said (update it by
 * hand), never written twice.
 */
async function intoExistingLayout(
  ctx: OperationContext,
  engine: Engine,
  project: DbProject,
  projectModel: () => Promise<ProjectModel>,
  selected: ExtractedObject[],
): Promise<FileWrite[]> {
  let model: ProjectModel | undefined;
  try {
    model = await projectModel();
  } catch (e) {
    if (!(e instanceof DbeeError)) throw e;
    // Sources that do not load (an object defined twice...): written in extract's own layout, as for a new project.
    ctx.reporter.warn(
      `${project.name}: its sources do not load (${e.message}); the files are written in extract's layout`,
    );
    return selected.map((o) => ({ ...o, keys: [formatKey(o.key)] }));
  }
  const prefix = project.relativeRoot ? project.relativeRoot + '/' : '';
  const local = (file: string) => (file.startsWith(prefix) ? file.slice(prefix.length) : file);
  const definedIn = new Map<string, string>(model!.objects.map((o) => [o.id, local(o.location.file)]));
  const keysOf = new Map<string, Set<string>>();
  for (const [key, file] of definedIn) keysOf.set(file, (keysOf.get(file) ?? new Set()).add(key));
  const writes: FileWrite[] = [];
  const moved = new Map<string, { sql: string[]; keys: Set<string> }>();
  for (const o of selected) {
    const statements = await engine.parser.parse(o.text, o.path, { searchPath: model!.graph.searchPath });
    const stay: string[] = [];
    const keys = new Set<string>();
    for (const st of statements) {
      const key = st.key ? formatKey(st.key) : null;
      const home = key ? definedIn.get(key) : undefined;
      if (key && home && home !== o.path) {
        const m = moved.get(home) ?? { sql: [], keys: new Set<string>() };
        m.sql.push(st.sql);
        m.keys.add(key);
        moved.set(home, m);
      } else {
        stay.push(st.sql);
        if (key) keys.add(key);
      }
    }
    if (stay.length) writes.push({ path: o.path, text: stay.map((q) => q.trim() + ';\n').join('\n'), keys: [...keys] });
  }
  for (const [file, m] of moved) {
    const others = [...(keysOf.get(file) ?? [])].filter((k) => !m.keys.has(k));
    if (others.length) {
      ctx.reporter.warn(
        `${prefix}${file} also defines ${others.join(', ')}, which the database did not give back: not rewritten; the live definition of ${[...m.keys].join(', ')} differs from it or not, update it by hand`,
      );
      continue;
    }
    const existing = writes.find((w) => w.path === file);
    if (existing) {
      existing.text += '\n' + m.sql.map((q) => q.trim() + ';\n').join('\n');
      existing.keys.push(...m.keys);
    } else writes.push({ path: file, text: m.sql.map((q) => q.trim() + ';\n').join('\n'), keys: [...m.keys] });
  }
  return writes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
