import { projectScope } from '../schema/managed-scope';
import { desiredModelFor } from '../diffing/desired';
import { planChanges } from '../planner/plan-changes';
import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import { requireRole, type Connection, type LockOwner } from '../engine/engine';
import type { ProjectModel } from '../planner/project-model';
import type { Ledger } from '../ledger/ledger';
import { openLedger } from '../ledger/open-ledger';
import type { AdoptOptions } from '../options';
import { planFromSources } from '../planner/planner';
import { liveProjectPlan, type Plan, type PlanStep } from '../plan/plan';
import { runOrigin } from '../context/origin';
import type { OperationContext } from '../context/operation-context';
import { loadTarget, schemaOwners } from '../context/load';
import { Deployment } from '../runner/deployment';
import { readFingerprint, type RecordedFingerprint } from '../runner/recorded-fingerprint';
import type { RunResult } from '../runner/runner';
import type { DeploymentSession } from '../runner/session';
import {
  runPipeline,
  type PipelineApplied,
  type PipelineCommand,
  type PipelineInputs,
  type PipelinePlan,
} from '../pipeline/pipeline';

export type { AdoptOptions };

/** What a recorded object's checksum is when the live object differs from the sources: never a real checksum. */
const DIFFERS = 'adopted-differs';

/**
 * `adopt`: put a database that dbee never deployed under the ledger. The live schema is compared with the sources'
 * desired model; every object of the sources that exists live is recorded as deployed (a deployment of kind
 * `adopt`, nothing applied): at the sources' checksum when it is equal, with a marker that never matches when it
 * differs, so that the first deployment leaves equal objects alone, replaces changed views and routines, plans
 * changed tables by a diff of the live schema, and creates what is missing. Migrations are not recorded.
 */
export async function adopt(ctx: OperationContext, options: AdoptOptions): Promise<ExitCodeValue> {
  return runPipeline(ctx, adoptCommand(ctx, options), null);
}

/** A migration of the project that an adoption records as run, with what says it ran (another tool's history). */
export interface AdoptedMigration {
  /** The ledger's version of the migration (`1.2`), as the planner names it. */
  version: string;
  /** What the ledger records as its description: its file, as a deployment records it. */
  description: string;
  /** dbee's checksum of the migration, as the planner computes it. */
  checksum: string;
  /** Why it counts as run, printed (`applied by flyway on 2024-01-02, checksum verified`). */
  evidence: string;
}

/**
 * What `import --env` adds to an adoption (operations/import.ts): the migrations another tool applied on the
 * environment, read under the lock from that tool's history table (which is left untouched) and recorded in the same
 * deployment as the objects. Its refusals (a failed entry, a checksum mismatch, an applied migration missing from the
 * folder) are thrown from `applied`, before anything is written.
 */
export interface AdoptedHistory {
  /** The command as the gates and the report name it (`import`). */
  command: string;
  /** The project's migration steps (keys, checksums, files) and the connection, under the lock. */
  applied(migrations: PlanStep[], conn: Connection): Promise<AdoptedMigration[]>;
}

/** `adopt` with the migrations another tool applied recorded too (`dbee import --env`). */
export async function adoptWithHistory(
  ctx: OperationContext,
  options: AdoptOptions,
  history: AdoptedHistory,
): Promise<ExitCodeValue> {
  return runPipeline(ctx, adoptCommand(ctx, options, history), null);
}

interface AdoptInputs extends PipelineInputs {
  loaded: Awaited<ReturnType<typeof loadTarget>>;
  desired: Awaited<ReturnType<typeof desiredModelFor>>;
  sources: Plan;
}

interface AdoptRun extends PipelinePlan {
  ledger: Ledger;
  recorded: { key: string; checksum: string; differs: boolean }[];
  /** The migrations recorded as run (none for a plain adopt). */
  migrations: AdoptedMigration[];
}

/**
 * Adopt through the pipeline (`runPipeline`), as a command whose change is the ledger alone (`ledgerOnly`): the
 * ticket, the maintenance windows and protection gate it (its dry run reports them), it is notified, and its row
 * records the ticket. Under the deployment lock.
 */
function adoptCommand(
  ctx: OperationContext,
  options: AdoptOptions,
  history?: AdoptedHistory,
): PipelineCommand<AdoptInputs, AdoptRun> {
  const { reporter } = ctx;
  return {
    command: history?.command ?? 'adopt',
    phase: 'adopt',
    options,
    ledgerOnly: true,
    promotion: 'adopt records what the database holds; it deploys nothing',
    inputs: async () => {
      const loaded = await loadTarget(ctx, options.project, options.env);
      const { environment, target, models, engine } = loaded;
      requireRole(engine, 'diff', 'compare a live database with the sources');
      requireRole(engine, 'catalog', 'compare a live database with the sources');
      const desired = await desiredModelFor(ctx, { engine, environment, models, target: target.name });
      const sources = planFromSources({
        engine,
        models,
        planned: [target.name],
        schemaOwners: schemaOwners(ctx, environment),
      });
      return {
        environment,
        pkg: null,
        planned: [target.name],
        session: { engine, environment },
        loaded,
        desired,
        sources,
      };
    },
    drift: ({ loaded }) => ({ subjects: [{ project: loaded.target.name, scope: projectScope(loaded.model.graph) }] }),
    plan: (input, { conn }) => planAdoption(ctx, options, input, conn, history),
    verify: async () => reporter.info('dry run: the ledger was not written'),
    settle: async () => ExitCode.ok,
    apply: (input, session, run, report) => applyAdoption(ctx, input, session, run, report.ticket),
    failure: ({ result }) => result.exitCode,
  };
}

/** Stage `plan` of adopt, under the lock: refused when the project has deployments; what it records, printed. */
async function planAdoption(
  ctx: OperationContext,
  options: AdoptOptions,
  input: AdoptInputs,
  conn: Connection,
  history: AdoptedHistory | undefined,
): Promise<AdoptRun> {
  const { reporter } = ctx;
  const { environment, target, model, engine } = input.loaded;
  const diff = requireRole(engine, 'diff', 'compare a live database with the sources');
  const catalog = requireRole(engine, 'catalog', 'compare a live database with the sources');
  const objectSteps = input.sources.steps.filter((s) => s.action !== 'migrate');
  const scope = { schemas: model.graph.schemas, manage: model.graph.manage };
  const ledger = openLedger(conn, engine.ledger);
  if ((await ledger.tables.exists()) && (await ledger.deployments.list(target.name, environment.name, 1)).length) {
    throw new DbeeError(`${target.name} already has deployments on ${environment.name}: it is under dbee already`, {
      code: 'ADOPT_NOT_NEEDED',
      hint: 'use dbee status and dbee diff to see where it stands',
    });
  }
  const live = await diff.introspect(conn, scope);
  const gap = planChanges(engine, live, input.desired.model, {
    project: target.name,
    online: false,
    renames: target.config.renames ?? [],
    owners: scope.manage?.owners,
  });
  const existing = await catalog.existingObjects(
    conn,
    objectSteps.map((s) => s.objectKey),
  );
  const recorded = recordedObjects(objectSteps, existing, gap);
  const missing = objectSteps.filter((s) => !existing.has(s.key));
  const migrations = history
    ? await history.applied(
        input.sources.steps.filter((s) => s.action === 'migrate'),
        conn,
      )
    : [];
  reporter.info(
    `dbee ${history?.command ?? 'adopt'} ${target.name} -> ${environment.name} (${conn.description})${options.dryRun ? ' [dry run]' : ''}`,
  );
  printAdoption(ctx, recorded, missing, model, gap, migrations);
  const steps = input.sources.steps;
  return {
    plan: liveProjectPlan(engine.name, target.name, []),
    problems: [],
    planChecksum: steps.length
      ? steps
          .map((s) => s.checksum)
          .join('')
          .slice(0, 64)
      : 'none',
    commit: null,
    ledger,
    recorded,
    migrations,
  };
}

/** Stage `apply` of adopt: the adoption recorded in the ledger, with the ticket; nothing applied. */
async function applyAdoption(
  ctx: OperationContext,
  input: AdoptInputs,
  session: DeploymentSession,
  run: AdoptRun,
  ticket: string | null,
): Promise<PipelineApplied> {
  const { reporter } = ctx;
  const { environment, target, model, engine } = input.loaded;
  const diff = requireRole(engine, 'diff', 'compare a live database with the sources');
  const scope = { schemas: model.graph.schemas, manage: model.graph.manage };
  const t0 = Date.now();
  const id = await recordAdoption(ctx, run.ledger, session.conn, session.owner, {
    project: target.name,
    environment: environment.name,
    planChecksum: run.planChecksum!,
    recorded: run.recorded,
    migrations: run.migrations,
    ticket,
    fingerprint: () => readFingerprint(diff, session.conn, scope),
  });
  reporter.info(`${target.name}: adopted as deployment ${id} (kind adopt); deploy applies only the differences`);
  const result: RunResult = {
    exitCode: ExitCode.ok,
    projects: [
      {
        project: target.name,
        deploymentId: id,
        status: 'succeeded',
        stepsApplied: 0,
        stepsTotal: 0,
        durationMs: Date.now() - t0,
        backups: [],
      },
    ],
    steps: [],
  };
  return { result, smoke: new Map() };
}

/**
 * The objects of the sources that exist live, each at the sources' checksum when equal, else at a marker that never
 * matches: an object differs when the gap between the live schema and the sources touches it (or its parent).
 */
function recordedObjects(
  objectSteps: PlanStep[],
  existing: ReadonlySet<string>,
  gap: Plan,
): { key: string; checksum: string; differs: boolean }[] {
  const touched = new Set<string>();
  for (const s of gap.steps) {
    touched.add(`${s.objectKey.schema}.${s.objectKey.name}`);
    if (s.objectKey.parent) touched.add(s.objectKey.parent);
  }
  return objectSteps
    .filter((s) => existing.has(s.key))
    .map((s) => {
      const name = s.objectKey.kind === 'schema' ? `${s.objectKey.name}` : `${s.objectKey.schema}.${s.objectKey.name}`;
      const differs = touched.has(name) || (s.objectKey.parent !== undefined && touched.has(s.objectKey.parent));
      return { key: s.key, checksum: differs ? DIFFERS : s.checksum, differs };
    });
}

/** What adopt found: each object recorded (equal or differing), each missing, and the migrations it does not record. */
function printAdoption(
  ctx: OperationContext,
  recorded: { key: string; differs: boolean }[],
  missing: PlanStep[],
  model: ProjectModel,
  gap: Plan,
  migrations: AdoptedMigration[],
): void {
  const { reporter } = ctx;
  for (const r of recorded)
    reporter.info(`  ${r.differs ? 'differs from the sources' : 'equal to the sources'}: ${r.key}`);
  for (const s of missing) reporter.info(`  missing (the first deployment creates it): ${s.key}`);
  const run = new Map(migrations.map((m) => [m.version, m]));
  for (const m of model.migrations) {
    const applied = run.get(m.file.versionParts.join('.'));
    reporter.info(
      applied
        ? `  migration ${m.file.version} recorded as run: ${applied.evidence}`
        : `  migration ${m.file.version} not recorded: the first deployment runs it${migrations.length ? '' : ' (record it by hand if it already ran)'}`,
    );
  }
  reporter.info(
    `${recorded.length} objects recorded (${recorded.filter((r) => r.differs).length} differ), ${missing.length} missing; ${gap.steps.length} step(s) between the live schema and the sources`,
  );
}

/**
 * The adoption in the ledger: a deployment of kind `adopt` that applied nothing, the recorded objects' states in one
 * transaction, and the schemas' fingerprint at its close. Returns the deployment's id.
 */
async function recordAdoption(
  ctx: OperationContext,
  ledger: Ledger,
  conn: Connection,
  owner: LockOwner,
  adoption: {
    project: string;
    environment: string;
    planChecksum: string;
    recorded: { key: string; checksum: string }[];
    migrations: AdoptedMigration[];
    ticket: string | null;
    fingerprint: () => Promise<Pick<RecordedFingerprint, 'fingerprint' | 'positionFree'>>;
  },
): Promise<number> {
  await ledger.tables.ensure();
  const deployment = await Deployment.open(ledger, {
    project: adoption.project,
    environment: adoption.environment,
    kind: 'adopt',
    planChecksum: adoption.planChecksum,
    package: null,
    ...(await runOrigin(ctx, owner)),
    stepsTotal: 0,
    ticket: adoption.ticket,
  });
  const id = deployment.id;
  await conn.transaction(async (tx) => {
    for (const r of adoption.recorded) await ledger.objects.setObjectState(adoption.project, r.key, r.checksum, id, tx);
    for (const m of adoption.migrations)
      await ledger.objects.recordMigration(adoption.project, m.version, m.description, m.checksum, id, tx);
  });
  const { fingerprint, positionFree } = await adoption.fingerprint();
  await deployment.close('succeeded', {
    fingerprint,
    ...(positionFree ? { positionFreeFingerprint: positionFree } : {}),
  });
  return id;
}
