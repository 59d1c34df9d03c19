import { requireRole, type Connection, type Engine } from '../engine/engine';
import { DbeeError, ExitCode } from '../errors';
import { formatKey, parseKey, type ObjectKey } from '../model/object-key';
import type { Reference, SourceLocation } from '../model/source';
import type { Plan } from '../plan/plan';
import { allObjects } from '../schema/diff';
import type { SchemaModel } from '../schema/model';
import { baselineViews, compileBaselineViews, type BaselineSelection, type BaselineView } from '../smoke/run-smoke';
import { changesUpTo, dependencyStarts } from '../smoke/stale-views';
import type { VerifiedViews } from '../check/verify-result';

export type { VerifiedViews } from '../check/verify-result';

/**
 * The smoke baseline of one project the plan deploys, which the real run runs right after the project's steps
 * (`VerifyInput.baseline`): the verified dry run compiles its views on the copy after the plan.
 */
export interface VerifyBaseline {
  /** The project's model: name, search path, objects (their references, and the file and line they are created at). */
  model: Omit<BaselineSelection['model'], 'objects'> & {
    objects?: readonly { key: ObjectKey; references: Reference[]; location?: SourceLocation }[];
  };
  /** The keys the ledger records for the project before the plan (`Ledger.objectKeys`); empty on a first deployment. */
  deployed: readonly string[];
  /** The time bound of the project's checks, in milliseconds (`smokeTimeoutMs`). */
  timeoutMs: number;
}

/** The baselines of the projects with steps in the plan (a project without steps has no deployment, no baseline). */
function withSteps(plan: Plan, baseline: readonly VerifyBaseline[]): VerifyBaseline[] {
  const projects = new Set(plan.steps.map((s) => s.project));
  return baseline.filter((b) => projects.has(b.model.project.name));
}

/**
 * The schemas outside `schemas` holding views over what the plan drops (the drop fails on the copy, as on the target,
 * instead of passing there), and, for the projects with a smoke baseline, the views that baseline compiles after the
 * plan as other projects' (or no project's) views over what it changes in place: read on the target with the query the
 * real run uses (`SmokeDialect.dependentViews`, from the same `dependencyStarts`). Sorted; empty when there are none,
 * when nothing the projects had was changed or dropped (a first deployment), or when the engine cannot tell. On
 * PostgreSQL, a database that holds no view besides the projects' own answers from one count.
 */
export async function dependentViewSchemas(
  engine: Engine,
  conn: Connection,
  plan: Plan,
  baseline: readonly VerifyBaseline[],
  schemas: readonly string[],
): Promise<string[]> {
  if (!engine.smoke?.dependentViews) return [];
  const inside = new Set(schemas);
  const outside = new Set<string>();
  for (const project of new Set(plan.steps.map((s) => s.project))) {
    const b = baseline.find((x) => x.model.project.name === project);
    const deployed = b?.deployed.map(parseKey) ?? [];
    const changes = changesUpTo(plan.steps, project);
    const starts = [
      ...(b ? dependencyStarts(changes, project, deployed) : []),
      ...dependencyStarts(changes, project, deployed, true),
    ];
    if (starts.length === 0) continue;
    for (const view of await engine.smoke.dependentViews(conn, starts, deployed))
      if (!inside.has(view.schema)) outside.add(view.schema);
  }
  return [...outside].sort();
}

/**
 * The live model of `schemas` and of every schema their objects depend on, in turn (a view of another project reads
 * tables or calls functions of a third; `needs`: the schemas the workspace declares a schema's objects may read): read
 * again with each schema found, until none is missing. For the copy of a verified dry run that holds the views of
 * `dependentViewSchemas`.
 */
export async function closedModel(
  engine: Engine,
  conn: Connection,
  schemas: readonly string[],
  needs: (schema: string) => readonly string[] = () => [],
): Promise<{ live: SchemaModel; schemas: string[] }> {
  const diff = requireRole(engine, 'diff', 'copy schemas into a scratch database');
  const scope = new Set(schemas);
  for (;;) {
    const live = await diff.introspect(conn, { schemas: [...scope], aggregates: true });
    // What the catalog says the objects read (a reference to a schema not read yet is not in the model: the
    // workspace's declared dependencies name those, `needs`).
    const used = [...schemasUsed(live), ...[...scope].flatMap(needs)];
    const missing = [...new Set(used)].filter((s) => !scope.has(s) && !diff.facts.systemSchemas?.test(s));
    if (missing.length === 0) return { live, schemas: [...scope] };
    for (const s of missing) scope.add(s);
  }
}

/**
 * The schemas of everything a model's objects need (`dependsOn`, a column's type, a foreign key's table, a trigger's
 * function: an expanded table's sync trigger calls one in the ledger's schema...).
 */
export function schemasUsed(model: SchemaModel): string[] {
  const keys: ObjectKey[] = [];
  for (const o of allObjects(model)) keys.push(...o.dependsOn);
  for (const t of model.tables) {
    for (const c of t.columns) keys.push(...c.dependsOn);
    for (const c of t.constraints) keys.push(...c.dependsOn, ...(c.references ? [c.references.table] : []));
  }
  for (const t of model.triggers) keys.push(t.function);
  const named = keys.filter((k) => k.kind !== 'extension' && k.kind !== 'schema').map((k) => k.schema);
  return [...new Set([...named, ...typeSchemas(model)])].filter(Boolean);
}

/**
 * The schemas that qualify the types of a model's columns (`postgis.geography(Point,4326)`, `ext.citext[]`), and the
 * functions and types their defaults and generated expressions call and cast to (`ext.uuid_generate_v1mc()`): a type or
 * function of an extension installed in a schema of its own is no object of the model (an extension's members are left
 * out), so no `dependsOn` names its schema, yet a copy without that schema and its extension cannot create the column.
 */
export function typeSchemas(model: SchemaModel): string[] {
  const out = new Set<string>();
  for (const t of model.tables)
    for (const c of t.columns) {
      const m = /^(?:"((?:[^"]|"")+)"|([^".\s(]+))\./.exec(c.type);
      if (m) out.add(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!);
      for (const e of [c.default, c.generated]) if (e) for (const s of calledSchemas(e)) out.add(s);
    }
  return [...out];
}

/**
 * The schemas of the qualified functions an expression calls (`ext.f(`) and types it casts to (`::ext.t`), as the
 * engine prints them; what string literals hold is left out.
 */
function calledSchemas(expression: string): string[] {
  const code = expression.replace(/'(?:[^']|'')*'/g, "''");
  const name = '(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)';
  const found = code.matchAll(new RegExp(`(?:(?<![\\w$."])(${name})\\.${name}\\s*\\(|::\\s*(${name})\\.${name})`, 'g'));
  return [...found].map((m) => {
    const s = (m[1] ?? m[2])!;
    return s.startsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s;
  });
}

/**
 * The keys the ledger records for `project` after the plan, as the real run's smoke baseline reads them: the plan's
 * object states for a project planned by a diff, else those before with the project's steps laid over them (a drop
 * forgets its object; a migration records none).
 */
function deployedAfter(plan: Plan, b: VerifyBaseline): ObjectKey[] {
  const project = b.model.project.name;
  const states = plan.objectStates?.[project];
  if (states) return Object.keys(states).sort().map(parseKey);
  const keys = new Set(b.deployed);
  for (const s of plan.steps) {
    if (s.project !== project || s.action === 'migrate') continue;
    if (s.action === 'drop') keys.delete(s.key);
    else keys.add(s.key);
  }
  return [...keys].sort().map(parseKey);
}

/**
 * On the copy, after every step of the plan ran: the views each project's smoke baseline would compile after its
 * deployment (the same selection as the real run, `baselineViews`: its views the plan can have broken, and the views
 * of other projects over what it changed in place), compiled as the baseline compiles them. Views the copy lacks are
 * left out, as the baseline leaves out the objects it finds missing.
 */
export async function compileViewsOnCopy(
  engine: Engine,
  copy: Connection,
  plan: Plan,
  baseline: readonly VerifyBaseline[],
): Promise<VerifiedViews> {
  const smoke = engine.smoke;
  if (!smoke) return { compiled: 0, problems: [] };
  const chosen: { b: VerifyBaseline; views: BaselineView[] }[] = [];
  for (const b of withSteps(plan, baseline)) {
    const deployed = deployedAfter(plan, b);
    const views = deployed.filter((k) => smoke.compileStatement(k) !== null);
    const gone = new Set((views.length ? await smoke.missingObjects(copy, views) : []).map(formatKey));
    const compilable = views.filter((k) => !gone.has(formatKey(k)));
    const selection = { model: b.model, changes: changesUpTo(plan.steps, b.model.project.name) };
    chosen.push({ b, views: await baselineViews(copy, smoke, selection, deployed, compilable) });
  }
  // Each view once: as its own project's (named at its file and line) when a planned project has it.
  const seen = new Set(chosen.flatMap((c) => c.views.filter((v) => !v.dependent).map((v) => formatKey(v.key))));
  let compiled = 0;
  const problems: DbeeError[] = [];
  for (const { b, views } of chosen) {
    const once = views.filter((v) => !v.dependent || (!seen.has(formatKey(v.key)) && seen.add(formatKey(v.key))));
    const results = await compileBaselineViews(copy, engine, once, {
      timeoutMs: b.timeoutMs,
      searchPath: b.model.graph.searchPath,
    });
    compiled += results.length;
    for (const { view, result } of results)
      if (result.status !== 'passed') problems.push(viewProblem(b, view, result.message ?? 'failed'));
  }
  return { compiled, problems };
}

/** A view that fails to compile on the copy after the plan, as a refusal of the dry run. */
function viewProblem(b: VerifyBaseline, view: BaselineView, message: string): DbeeError {
  const project = b.model.project.name;
  const id = formatKey(view.key);
  const own = view.dependent ? undefined : b.model.objects?.find((o) => formatKey(o.key) === id)?.location;
  const name = `${view.key.kind} ${view.key.schema}.${view.key.name}`;
  const whose = view.dependent ? `, which stands on what ${project} changes,` : '';
  return new DbeeError(
    `${name}${whose} fails to compile on a copy of the target's schemas after the plan: ${message.replace(/^failed: /, '')}`,
    {
      code: 'DRY_RUN_VIEW_FAILED',
      location: own ? { file: own.file, line: own.line } : undefined,
      hint: "the real run's smoke baseline would fail on it (exit 3): change the view with what it stands on, or expand then contract (add the new beside the old, move the view over, drop the old later: docs/smoke-checks.md); --no-verify skips this check",
      exitCode: ExitCode.invalid,
      details: { view: id, project },
    },
  );
}
