import type { ResolvedEnvironment } from '../config/resolve';
import { modelLoader } from '../context/load';
import type { OperationContext } from '../context/operation-context';
import type { Connection, Engine } from '../engine/engine';
import type { CarriedState, Ledger, RewrittenObject } from '../ledger/ledger';
import { formatKey, parseKey, type ObjectKey } from '../model/object-key';
import { lastRecordedDeployment } from './batch-planned';
import { projectSubject } from './drift';
import type { VerifyProbe } from '../check/verify-result';
import type { Plan } from '../plan/plan';
import type { DeployReport } from '../runner/deploy-report';
import { readFingerprints, scopeKey } from '../runner/recorded-fingerprint';
import type { SchemaScope } from '../schema/managed-scope';
import type { SchemaModel } from '../schema/model';
import { changesUpTo, dependencyStarts } from '../smoke/stale-views';
import { carriedDrift, recordedDrift } from '../diffing/drift';

/** An object of another project that a plan's steps may change in place. */
interface Candidate {
  /** The project that owns it (by its schema). */
  project: string;
  key: ObjectKey;
  /** The planned project whose steps reach it. */
  by: string;
  source: { file: string; line: number } | null;
}

/**
 * The objects of other projects that a plan's steps may change in place, and their definitions before the steps
 * (`watchDependents`), to be compared with their definitions after them (`rewrittenBy`).
 */
export interface DependentsWatch {
  candidates: Candidate[];
  /** What is read to compare them: their schemas, narrowed to their names. */
  scope: SchemaScope;
  /** Each dependent project with a candidate: its scope (as its deployments record it), and whether it had not drifted. */
  projects: Map<string, { scope: SchemaScope; clean: boolean }>;
  /** Their definitions before the steps (the target's; on a dry run, read again on the copy). */
  before: SchemaModel | null;
}

/** What a project's deployment did to other projects' objects (`DeploymentSummary.rewrote` and `carried`). */
export interface RewrittenBy {
  rewrote: RewrittenObject[];
  carried: Record<string, CarriedState>;
}

/**
 * Before a plan's steps (under the lock, on the target; a dry run: on the target, only read): the views and materialized
 * views of other projects that stand on what the plan changes in place (not what it creates or drops: the smoke
 * baseline's `dependencyStarts`, found by the engine's `SmokeDialect.dependentViews`, pg_depend and pg_rewrite on
 * PostgreSQL), in the schemas of the workspace's projects that depend on a planned one and have no step of their own
 * in the plan; whether each such project had not drifted (its live state is its newest recorded one: `recordedDrift`,
 * `carriedDrift`); and their definitions now. Null, without a request, when the plan changes nothing in place or no
 * project depends on a planned one; null after the engine's one lookup when nothing of theirs stands on it.
 */
export async function watchDependents(
  ctx: OperationContext,
  input: {
    engine: Engine;
    conn: Connection;
    environment: ResolvedEnvironment;
    plan: Plan;
    /**
     * The object keys the ledger records for a planned project (`formatKey`), asked only for one that other projects
     * depend on: a rollback reads them from its ledger then, a deployment has them already.
     */
    deployed: (project: string) => Iterable<string> | Promise<Iterable<string>>;
    ledger: Pick<Ledger, 'deployments'>;
  },
): Promise<DependentsWatch | null> {
  const { engine, conn, environment, plan } = input;
  const smoke = engine.smoke;
  const diff = engine.diff;
  if (!smoke?.dependentViews || !diff) return null;
  const withSteps = new Set(plan.steps.map((s) => s.project));
  const candidates = new Map<string, Candidate>();
  const projects = new Map<string, { scope: SchemaScope; clean: boolean }>();
  const load = modelLoader(ctx, environment, engine);
  for (const by of withSteps) {
    const dependents = [...ctx.workspace.projects.keys()].filter(
      (p) => p !== by && !withSteps.has(p) && ctx.workspace.withDependencies(p).some((d) => d.name === by),
    );
    if (!dependents.length) continue;
    const deployed = [...(await input.deployed(by))].map(parseKey);
    const starts = dependencyStarts(changesUpTo(plan.steps, by), by, deployed);
    if (!starts.length) continue;
    const owners = new Map<string, string>();
    for (const p of dependents)
      for (const schema of projectSubject(ctx, environment, engine, p).scope.schemas) owners.set(schema, p);
    for (const key of await smoke.dependentViews(conn, starts, deployed)) {
      const project = owners.get(key.schema ?? '');
      const id = formatKey(key);
      if (!project || candidates.has(id)) continue;
      const found = (await load(project)).objects.find((o) => o.id === id);
      const source = found ? { file: found.location.file, line: found.location.line } : null;
      candidates.set(id, { project, key, by, source });
    }
  }
  if (!candidates.size) return null;
  for (const c of candidates.values()) {
    if (projects.has(c.project)) continue;
    const { scope } = projectSubject(ctx, environment, engine, c.project);
    const last = await lastRecordedDeployment(ctx, input.ledger, c.project, environment.name);
    const drift = await carriedDrift(
      ctx,
      engine,
      conn,
      input.ledger,
      await recordedDrift(engine, conn, { project: c.project, scope, last }),
      scope,
      last,
    );
    projects.set(c.project, { scope, clean: drift.state === 'no' });
  }
  const list = [...candidates.values()];
  const scope: SchemaScope = {
    schemas: [...new Set(list.map((c) => c.key.schema!))].sort(),
    names: list.map((c) => `${c.key.schema}.${c.key.name}`),
  };
  return { candidates: list, scope, projects, before: await viewsOf(engine, conn, scope) };
}

/**
 * After the steps (`conn`: the target, or the dry run's copy, with `watch.before` read there before them): the
 * candidates whose definitions the steps changed, as each planned project's deployment records them
 * (`RewrittenObject`), and the states carried forward (`DeploymentSummary.carried`) of the projects that had not
 * drifted, read now (`carry`: the real run; a dry run reads none). Nothing changed: an empty map, no fingerprint read.
 */
export async function rewrittenBy(
  engine: Engine,
  conn: Connection,
  watch: DependentsWatch,
  carry: boolean,
): Promise<Map<string, RewrittenBy>> {
  const diff = engine.diff!;
  const after = await viewsOf(engine, conn, watch.scope);
  const definition = (model: SchemaModel | null, key: string) => {
    const v = model?.views.find((o) => formatKey(o.key) === key);
    return v ? JSON.stringify(v) : null;
  };
  const changed = watch.candidates.filter((c) => {
    const id = formatKey(c.key);
    return definition(watch.before, id) !== definition(after, id);
  });
  const out = new Map<string, RewrittenBy>();
  if (!changed.length) return out;
  const carried = [...new Set(changed.map((c) => c.project))].filter((p) => watch.projects.get(p)?.clean);
  const states = new Map<string, CarriedState>();
  if (carry && carried.length) {
    const scopes = carried.map((p) => watch.projects.get(p)!.scope);
    const read = await readFingerprints(diff, conn, scopes);
    carried.forEach((p, i) =>
      states.set(p, {
        fingerprint: read[i]!.fingerprint,
        positionFreeFingerprint: read[i]!.positionFree ?? null,
        fingerprintScope: scopeKey(scopes[i]!),
      }),
    );
  }
  for (const c of changed) {
    const entry = out.get(c.by) ?? { rewrote: [], carried: {} };
    entry.rewrote.push({
      project: c.project,
      object: formatKey(c.key),
      file: c.source?.file ?? null,
      line: c.source?.line ?? null,
      carried: carry ? states.has(c.project) : !!watch.projects.get(c.project)?.clean,
    });
    const state = states.get(c.project);
    if (state) entry.carried[c.project] = state;
    out.set(c.by, entry);
  }
  return out;
}

/**
 * The views of `scope` with their definitions and columns, as the engine reads them: its reader of relations only where
 * it has one (fewer catalog queries; what a rewrite changes), else the whole introspection.
 */
export function viewsOf(engine: Engine, conn: Connection, scope: SchemaScope): Promise<SchemaModel> {
  const diff = engine.diff!;
  return diff.introspectRelations ? diff.introspectRelations(conn, scope) : diff.introspect(conn, scope);
}

/**
 * What a deployment (or its dry run: `dryRun`) says of an object of another project its steps rewrote in place, with
 * what to do: deploy that project after this release (its object is made again from its sources), or, when that
 * project had changed outside dbee before, that its deployment refuses the drift until it is resolved.
 */
export function rewrittenWarning(
  by: string,
  o: RewrittenObject,
  dryRun: boolean,
  /** What made the change: a deployment's release, or a rollback (`dbee rollback`). */
  what: 'release' | 'rollback' = 'release',
): string {
  const where = o.file ? ` (${o.file}${o.line ? `:${o.line}` : ''})` : '';
  const said = `${by}: its ${what === 'rollback' ? "rollback's steps" : 'steps'} ${dryRun ? 'rewrite' : 'rewrote'} ${o.project}'s ${o.object}${where} in place (the database rewrites a view over a column renamed or retyped)`;
  const kind = o.object.slice(0, o.object.indexOf(':')).replace('-', ' ');
  return o.carried
    ? `${said}; deploy ${o.project} after this ${what}: its ${kind} will be rebuilt from its sources`
    : `${said}; ${o.project} had changed outside dbee before this ${what}, so its state is not carried forward: its next deployment refuses the drift (dbee status ${o.project} names it)`;
}

/** Each object found, said (a warning with what to do) and put in the report (`DeployReport.rewritten`). */
export function tellRewritten(
  ctx: OperationContext,
  report: DeployReport,
  by: string,
  found: RewrittenBy,
  dryRun: boolean,
  what: 'release' | 'rollback' = 'release',
): void {
  for (const o of found.rewrote) ctx.reporter.warn(rewrittenWarning(by, o, dryRun, what));
  report.rewritten = [...(report.rewritten ?? []), ...found.rewrote.map((o) => ({ by, ...o }))];
}

/**
 * A dry run's look at the watched objects on its scratch copy (a deployment's, a rollback's: `what`): read there before
 * the steps and after them (a probe of `verifyPlan`); `tell` then says what changed, as the real run would record it.
 */
export function rewritesOnCopy(
  ctx: OperationContext,
  engine: Engine,
  watch: DependentsWatch,
  what: 'release' | 'rollback' = 'release',
): { probe: VerifyProbe; tell: (report: DeployReport) => void } {
  let found = new Map<string, RewrittenBy>();
  return {
    probe: {
      async before(copy) {
        watch.before = await viewsOf(engine, copy, watch.scope);
      },
      async after(copy) {
        found = await rewrittenBy(engine, copy, watch, false);
      },
    },
    tell: (report) => {
      for (const [by, f] of found) tellRewritten(ctx, report, by, f, true, what);
    },
  };
}
