import { stillRecorded } from '../runner/recorded-fingerprint';
import type { ResolvedEnvironment } from '../config/resolve';
import type { Connection, Engine } from '../engine/engine';
import { DbeeAggregateError, DbeeError } from '../errors';
import { deploymentSummary, type Ledger } from '../ledger/ledger';
import { recordedFromBaseline, removedMigrationNeeded, startsFromBaseline } from '../planner/baseline';
import { migrationVersionOf } from '../model/object-key';
import type { OperationContext } from '../context/operation-context';
import type { Plan, PlanStep } from '../plan/plan';
import type { DeployedState } from '../planner/planner';
import type { ProjectModel } from '../planner/project-model';
import { checksumStatements, sha256 } from '../sources/checksum';
import type { LoadedPackage } from './package';
import { boundKeyProblems, keysFor } from './package-keys';
import { valuesHash } from './release';

/**
 * Outside Nx, a package is deployed as the project it was built for, and refused (exit 1) for any other.
 * Under Nx, `deploy --package` reaches every dependency's deploy task too (the target forwards its options to
 * them). One package is one deployment run: the task of the project the package was built for applies it (its
 * dependencies included, or checked as deployed), and the others only say so. False when this task must do nothing.
 */
export function packageRunsHere(ctx: OperationContext, pkg: LoadedPackage, project: string): boolean {
  const target = pkg.release?.target ?? pkg.plan.projects[pkg.plan.projects.length - 1];
  if (!target || target === project) return true;
  // Outside Nx, `deploy core --package <a package built for sales>` would apply sales as well: the user named
  // another project than the package's.
  if (!ctx.fromNx) {
    throw new DbeeError(
      `package ${pkg.path} was built for ${target}${pkg.plan.projects.length > 1 ? ` (with ${pkg.plan.projects.filter((p) => p !== target).join(', ')})` : ''}, not ${project}; nothing was applied`,
      {
        code: 'PACKAGE_MISMATCH',
        hint: `deploy it as the project it was built for: dbee deploy ${target} --package ${pkg.path}`,
      },
    );
  }
  ctx.reporter.info(
    `${project}: the package ${pkg.path} is deployed by the task of ${target}${pkg.plan.projects.includes(project) ? `, which applies ${project} with it` : `, which refuses it unless ${project} is deployed`}; nothing to do here`,
  );
  return false;
}

/** The package's smoke checks replace the working tree's (a package is self-contained); older packages carry none. */
export function packageSmokeModels(pkg: LoadedPackage, models: ProjectModel[]): ProjectModel[] {
  if (!pkg.release) return models;
  return models.map((m) =>
    pkg.plan.projects.includes(m.project.name) ? { ...m, smoke: pkg.smoke.get(m.project.name) ?? [] } : m,
  );
}

export interface PackagePlanInput {
  pkg: LoadedPackage;
  ledger: Ledger;
  conn: Connection;
  engine: Engine;
  environment: ResolvedEnvironment;
  /** Ledger state of every project of the package. */
  deployed: ReadonlyMap<string, DeployedState>;
  /** The target environment's variables per project. */
  variables: ReadonlyMap<string, Record<string, string>>;
  models: readonly ProjectModel[];
}

/**
 * What the package's variables refuse on `environment` (exit 1, before anything runs): keys bound to the build's
 * values (package-keys.ts), a variable the package uses that the environment does not define, and, for SQL rendered
 * from models built with one environment's values (`renderedWith`: incremental, gap and expand-contract packages),
 * other values here.
 */
export function packageVariableProblems(
  pkg: LoadedPackage,
  environment: ResolvedEnvironment,
  variables: ReadonlyMap<string, Record<string, string>>,
): DbeeError[] {
  const release = pkg.release;
  const problems: DbeeError[] = boundKeyProblems(release, environment.name, variables);
  for (const [project, v] of Object.entries(release?.variables ?? {})) {
    const values = variables.get(project) ?? {};
    const missing = v.names.filter((n) => values[n] === undefined);
    if (missing.length) {
      problems.push(
        new DbeeError(
          `${project}: the package uses ${missing.map((n) => `{{${n}}}`).join(', ')}, which environment ${environment.name} does not define`,
          {
            code: 'PACKAGE_VARIABLES',
            hint: `define ${missing.length === 1 ? 'it' : 'them'} under variables of ${environment.name} (dbee.yaml or the project's db.yaml)`,
          },
        ),
      );
    } else if (v.renderedWith && v.names.length && valuesHash(v.names, values) !== v.renderedWith.valuesHash) {
      problems.push(
        new DbeeError(
          `${project}: the package's SQL was rendered with the values of ${v.names.map((n) => `{{${n}}}`).join(', ')} on ${v.renderedWith.environment}; ${environment.name} has other values`,
          {
            code: 'PACKAGE_VARIABLES',
            hint: `an incremental package is rendered from models built with one environment's values: build one with --env ${environment.name}, or give both environments the same values`,
          },
        ),
      );
    }
  }
  return problems;
}

/**
 * The steps of a package this environment still needs, after every check that must pass before anything runs
 * (all problems reported together, exit 1): variables the package uses are defined (and, for SQL rendered from
 * models, have the values it was rendered with); dependencies outside the package are deployed; each changed object
 * of an incremental package is at its base version or already at head (or was changed by an earlier run of this
 * package); a full-state package does not meet a table the ledger holds at another version; a gap package (with a
 * base fingerprint) runs whole, its freshness checked by the caller, unless it already ran here and nothing changed
 * since (then nothing is left: `gapAlreadyApplied`). Steps are numbered
 * 1..n again; incremental projects get the ledger's object state to record when they succeed.
 */
export async function packagePlan(given: PackagePlanInput): Promise<Plan> {
  // The package's step keys as this environment names its objects (package-keys.ts).
  const input = {
    ...given,
    pkg: { ...given.pkg, plan: keysFor(given.pkg.plan, given.variables, given.engine.capabilities.keyNames) },
  };
  const { pkg, ledger, environment, deployed, variables } = input;
  const release = pkg.release;
  const problems = packageVariableProblems(pkg, environment, variables);
  // A dependency outside the package must already be on the target: the dry run says so as the real run does.
  for (const project of pkg.plan.projects) {
    for (const dep of release?.dependsOn[project] ?? []) {
      if (pkg.plan.projects.includes(dep)) continue;
      const state = deployed.get(dep) ?? (await ledger.objects.deployedState(dep));
      if (state.objects.size === 0 && state.migrations.size === 0) {
        problems.push(
          new DbeeError(
            `${project} depends on ${dep}, which is not deployed on ${environment.name} and is not in this package`,
            {
              code: 'PACKAGE_DEPENDENCY_MISSING',
              hint: `deploy ${dep} to ${environment.name} first, or build the package with its dependencies (dbee plan ${release?.target ?? project} --out ..., without --no-deps)`,
            },
          ),
        );
      }
    }
  }
  const incremental = Boolean(release?.base);
  // A gap package (planned by a diff against this database) is bound to its state by the base fingerprint, not by
  // the ledger: every step runs, and deploy refuses it as stale when the database changed since (assertFreshBase).
  const gap = Boolean(pkg.plan.baseFingerprint);
  // Run again where it already ran: nothing to deploy (its base fingerprint, no longer the live one, would call it stale).
  if (gap && !problems.length && (await gapAlreadyApplied(input)))
    return { ...pkg.plan, baseFingerprint: null, steps: [] };
  const done = new Set<string>(); // incremental projects whose changed objects are all at head already
  const objectStates: Record<string, Record<string, string>> = {};
  const earlier = new Map<string, Map<string, number>>(); // project → `key\0checksum` → steps applied by earlier runs
  if (incremental) {
    for (const project of pkg.plan.projects) {
      const vars = variables.get(project) ?? {};
      const state = deployed.get(project)!;
      const prior = await stepsOfEarlierRuns(ledger, project, environment.name, pkg.manifest.planChecksum);
      earlier.set(project, prior.counts);
      const mine = release!.preconditions.filter((p) => p.project === project);
      const wrong: string[] = [];
      let atHead = 0;
      const states: Record<string, string> = Object.fromEntries(state.objects);
      for (const p of mine) {
        const found = state.objects.get(p.key) ?? null;
        const base = p.base ? checksumStatements(p.base, vars) : null;
        const head = p.head ? checksumStatements(p.head, vars) : null;
        if (head) states[p.key] = head;
        else delete states[p.key];
        if (found === head) atHead++;
        else if (found === base || (found !== null && prior.keys.has(p.key))) continue;
        else wrong.push(`${p.key}: expected ${base ?? 'absent'}, found ${found ?? 'absent'}`);
      }
      if (wrong.length) {
        problems.push(
          new DbeeError(
            `${project} on ${environment.name} is not at ${release!.base!.ref} (${release!.base!.commit.slice(0, 12)}), the state this package starts from:\n    ${wrong.join('\n    ')}`,
            {
              code: 'PACKAGE_PRECONDITION',
              hint: `deploy ${release!.base!.ref} there first, or build a package from the commit this environment is at: dbee plan ${release!.target} --base <that commit> --out ... (dbee status ${project} --env ${environment.name} shows its last deployment)`,
              details: { project, objects: wrong },
            },
          ),
        );
        continue;
      }
      // Its schemas changed outside dbee since its last deployment: the pipeline's drift stage refuses it.
      if (mine.length && atHead === mine.length) done.add(project);
      objectStates[project] = states;
    }
  } else if (!gap) {
    problems.push(...(await tablesAtAnotherVersion(input)));
  }
  if (problems.length === 1) throw problems[0]!;
  if (problems.length > 1)
    throw new DbeeAggregateError(
      `the package cannot be deployed to ${environment.name}; nothing was applied`,
      problems,
    );

  const pending = incremental
    ? pkg.plan.steps.filter((step) => {
        const state = deployed.get(step.project)!;
        if (step.action === 'migrate') return !state.migrations.has(migrationVersionOf(step.objectKey.name));
        if (done.has(step.project)) return false;
        // A step an earlier run of this package applied is not run again (a re-run resumes where it stopped).
        const counts = earlier.get(step.project)!;
        const id = `${step.key}\0${checksumStatements(step.statements, variables.get(step.project) ?? {})}`;
        const n = counts.get(id) ?? 0;
        if (n > 0) {
          counts.set(id, n - 1);
          return false;
        }
        return true;
      })
    : gap
      ? pkg.plan.steps
      : replacingSteps(pendingSteps(pkg.plan, deployed, variables).steps, deployed);
  const steps = baselineSteps(pending, deployed, environment.name).map((s, i) => ({ ...s, order: i + 1 }));
  const withSteps = new Set(steps.map((s) => s.project));
  const states = Object.fromEntries(Object.entries(objectStates).filter(([p]) => withSteps.has(p)));
  return { ...pkg.plan, steps, ...(Object.keys(states).length ? { objectStates: states } : {}) };
}

/**
 * A full-state package's steps as they meet this database: a `create` of an object the ledger holds at another version
 * (a `CREATE OR REPLACE` function or view) replaces it, so its reverse is the definition it replaces (read when the
 * step runs, as a replace's is) and not the DROP a first creation is undone by: `dbee rollback` (and the rollback test)
 * then puts the previous version back instead of dropping an object others depend on.
 */
function replacingSteps(steps: PlanStep[], deployed: ReadonlyMap<string, DeployedState>): PlanStep[] {
  return steps.map((step) =>
    step.action === 'create' &&
    deployed.get(step.project)?.objects.has(step.key) &&
    /^\s*(CREATE\s+OR\s+REPLACE|REPLACE)\b/i.test(step.statements[0] ?? '')
      ? { ...step, action: 'replace' as const, reverse: null }
      : step,
  );
}

/**
 * The steps of a package that a database still needs: objects whose checksum (with this environment's
 * variables) differs from the ledger's, and migrations not yet applied. Order is kept.
 */
export function pendingSteps(
  plan: Plan,
  deployed: ReadonlyMap<string, DeployedState>,
  variables: ReadonlyMap<string, Record<string, string>>,
): Plan {
  const steps = plan.steps.filter((step) => {
    const state = deployed.get(step.project);
    if (!state) return true;
    if (step.action === 'migrate') return !state.migrations.has(migrationVersionOf(step.objectKey.name));
    return state.objects.get(step.key) !== checksumStatements(step.statements, variables.get(step.project) ?? {});
  });
  return { ...plan, steps };
}

/**
 * The folded migrations of a package's pending steps as `target` takes them: only recorded in a project the target
 * has nothing of (it starts from the baseline: `planner/baseline.ts`); run as written elsewhere, and refused there when
 * their file was deleted (the target deployed the project without running them).
 */
function baselineSteps(steps: PlanStep[], deployed: ReadonlyMap<string, DeployedState>, target: string): PlanStep[] {
  return steps.map((step) => {
    if (!step.baseline) return step;
    if (startsFromBaseline(deployed.get(step.project))) return recordedFromBaseline(step);
    if (step.baseline.removed) throw removedMigrationNeeded(step, target);
    return step;
  });
}

/** Steps applied (and still applied) by earlier deployments of the same package (same plan checksum) to a project. */
async function stepsOfEarlierRuns(
  ledger: Pick<Ledger, 'deployments' | 'steps'>,
  project: string,
  environment: string,
  planChecksum: string,
): Promise<{ counts: Map<string, number>; keys: Set<string> }> {
  const counts = new Map<string, number>();
  const keys = new Set<string>();
  for (const d of await ledger.deployments.list(project, environment, 10_000)) {
    if (d.kind !== 'deploy' || d.plan_checksum !== planChecksum) continue;
    for (const s of await ledger.steps.of(d.id)) {
      if (s.status !== 'applied' || s.action === 'migrate') continue;
      const id = `${s.objectKey}\0${s.checksum}`;
      counts.set(id, (counts.get(id) ?? 0) + 1);
      keys.add(s.objectKey);
    }
  }
  return { counts, keys };
}

/**
 * Whether gap package `input.pkg` is what this database is at: the last finished deployment of each of its projects
 * here is a successful run of this package (same plan checksum), and the project's schemas still have the
 * fingerprint it recorded. False whenever that cannot be told (no fingerprint recorded).
 */
async function gapAlreadyApplied(input: PackagePlanInput): Promise<boolean> {
  const { engine, conn, ledger, environment, pkg } = input;
  if (!engine.diff) return false;
  for (const project of pkg.plan.projects) {
    const model = input.models.find((m) => m.project.name === project);
    const last = (await ledger.deployments.list(project, environment.name, 10_000)).find((d) => d.finished_at);
    const summary = last ? deploymentSummary(last) : null;
    if (!model || !last || !summary?.fingerprint) return false;
    if (last.kind !== 'deploy' || last.status !== 'succeeded' || last.plan_checksum !== pkg.manifest.planChecksum)
      return false;
    if (await stillRecorded(engine, conn, summary)) continue;
    const live = await engine.diff.fingerprint(
      conn,
      { schemas: model.graph.schemas, manage: model.graph.manage },
      summary.fingerprint,
    );
    if (definitions(live) !== definitions(summary.fingerprint)) return false;
  }
  return true;
}

/**
 * The part of a fingerprint that describes definitions. PostgreSQL's (`pg4:<system id>.<database oid>:<lines>:<md5>`)
 * starts with the database's identity, so that two databases never share one; a copy of a database (CREATE DATABASE
 * ... TEMPLATE, a restore) has another identity but the same definitions, and is not changed outside dbee.
 */
function definitions(fingerprint: string): string {
  const parts = fingerprint.split(':');
  return parts.length === 4 ? parts.slice(2).join(':') : fingerprint;
}

/**
 * A full-state package re-creates every object the ledger does not hold at the package's version. For an object
 * that cannot be replaced in place (a table) and that the ledger holds at another version, that would fail on the
 * existing table: refused with the remedy, an incremental package from the commit the ledger recorded.
 */
async function tablesAtAnotherVersion(input: PackagePlanInput): Promise<DbeeError[]> {
  const { pkg, ledger, deployed, variables, environment } = input;
  const problems: DbeeError[] = [];
  const replaceable = (step: PlanStep) =>
    /^\s*(CREATE\s+OR\s+REPLACE|REPLACE)\b/i.test(step.statements[0] ?? '') ||
    /\bIF\s+NOT\s+EXISTS\b/i.test(step.statements[0] ?? '');
  const byProject = new Map<string, string[]>();
  for (const step of pkg.plan.steps) {
    if (step.action === 'migrate' || replaceable(step)) continue;
    const found = deployed.get(step.project)?.objects.get(step.key);
    if (found === undefined || found === checksumStatements(step.statements, variables.get(step.project) ?? {}))
      continue;
    byProject.set(step.project, [...(byProject.get(step.project) ?? []), step.key]);
  }
  for (const [project, keys] of byProject) {
    const commit = await recordedCommit(
      ledger,
      project,
      environment.name,
      keys[0]!,
      deployed.get(project)!.objects.get(keys[0]!)!,
    );
    const base = commit ? commit.replace(/-dirty$/, '') : '<the commit deployed there>';
    problems.push(
      new DbeeError(
        `${project} on ${environment.name} holds ${keys.join(', ')} at another version than this package, which would create ${keys.length === 1 ? 'it' : 'them'} again: a full-state package cannot change a table`,
        {
          code: 'PACKAGE_NEEDS_BASE',
          hint:
            `build an incremental package from the commit ${environment.name} is at: dbee plan ${pkg.release?.target ?? project} --base ${base} --out <folder>` +
            (commit?.endsWith('-dirty')
              ? ` (that deployment was made from uncommitted changes on top of ${base})`
              : ''),
          details: { project, objects: keys, commit },
        },
      ),
    );
  }
  return problems;
}

/** The commit of the deployment that left `key` at `checksum` (else of the project's last successful deployment). */
async function recordedCommit(
  ledger: Pick<Ledger, 'deployments' | 'steps'>,
  project: string,
  environment: string,
  key: string,
  checksum: string,
): Promise<string | null> {
  const history = await ledger.deployments.list(project, environment, 10_000);
  const step = await ledger.steps.stepThatApplied(project, key, checksum, Number.MAX_SAFE_INTEGER);
  const row = step ? history.find((d) => d.id === step.deploymentId) : undefined;
  return (
    row?.git_commit ??
    history.find((d) => d.kind === 'deploy' && d.status === 'succeeded' && d.git_commit)?.git_commit ??
    null
  );
}

/**
 * Why a package's deployment cannot be compared with its sources here, or null when it can: a package carries its
 * plan and the checksums of the source files it was planned from (`manifest.sources`), not the files. When the
 * workspace's files of the package's projects are those (a release deployed from a checkout of its commit, as CI
 * does), the sources' model is built from them, and its dry run and its run end with the same check as a deployment
 * of the sources.
 */
export function packageSourcesElsewhere(pkg: LoadedPackage, models: readonly ProjectModel[]): string | null {
  if (pkg.release?.toSources !== true)
    return pkg.release?.toSources === false
      ? 'the package leads to another state than its sources (a plan --against-env, or --head alone)'
      : 'the package does not say which sources it leads to (made by an older dbee)';
  const wanted = new Map(Object.entries(pkg.manifest.sources ?? {}));
  const here = new Map(
    models
      .filter((m) => pkg.plan.projects.includes(m.project.name))
      .flatMap((m) => m.files.map((f) => [f.path, sha256(f.text)] as const)),
  );
  const differ = [...new Set([...wanted.keys(), ...here.keys()])].filter((f) => wanted.get(f) !== here.get(f)).sort();
  if (!differ.length) return null;
  const commit = pkg.manifest.sourceCommit ? ` (${pkg.manifest.sourceCommit.slice(0, 12)})` : '';
  return `the workspace's sources are not the package's: ${differ.length} file${differ.length === 1 ? '' : 's'} differ, ${differ[0]} first; deploy it from a checkout of the commit it was planned from${commit} to compare`;
}
