import type { ResolvedEnvironment } from '../config/resolve';
import { requireRole, type Connection, type Engine } from '../engine/engine';
import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import type { DeploymentRow, Ledger, LedgerStep } from '../ledger/ledger';
import { openLedger } from '../ledger/open-ledger';
import { formatKey, parseKey, type ObjectKey } from '../model/object-key';
import { liveProjectPlan, type PlanStep } from '../plan/plan';
import { planChecksum } from '../plan/serialize';
import { runCompensation, type CompensatingStep, type CompensationOptions } from '../runner/undo';
import { compensationRunResult } from '../pipeline/compensation';
import { lockOwner, type DeploymentSession } from '../runner/session';
import type { DeployReport } from '../runner/deploy-report';
import { checksumStatements } from '../sources/checksum';
import { backupStamp } from '../plan/backup-stamp';
import { runOrigin } from '../context/origin';
import { engineFor, type OperationContext } from '../context/operation-context';
import {
  runPipeline,
  type PipelineApplied,
  type PipelineCommand,
  type PipelineInputs,
  type PipelinePlan,
  projectFailure,
} from '../pipeline/pipeline';
import { graphProject, projectManagedScope } from '../planner/project-model';
import { readRecordable, type RecordedFingerprint } from '../runner/recorded-fingerprint';
import type { SchemaScope } from '../schema/managed-scope';
import type { DisableOptions, EnableOptions } from '../options';
import { enabledConverged } from './enable-converged';

export type { DisableOptions, EnableOptions };

const ROUTINE_KINDS = new Set(['function', 'procedure']);

/**
 * `disable`: make a routine uncallable, fast: revoke EXECUTE from PUBLIC and from every role but its owner (each
 * revoked grant recorded, with its grant option), or rename it aside (`--rename`). A command of the pipeline
 * (`routineCommand`): the ticket, the maintenance windows and protection gate it (its dry run reports them), it is
 * recorded in the ledger as a deployment of kind `disable` whose step holds the exact reverse (`dbee enable` runs it),
 * it is notified and it records the schemas' fingerprint. A kill switch: no countdown.
 */
export async function disable(ctx: OperationContext, options: DisableOptions): Promise<ExitCodeValue> {
  return runRoutineCommand(ctx, options, 'disable', async ({ engine, conn, ledger, environment, history }) => {
    const project = options.project;
    const key = await resolveRoutine(engine, conn, requireObject(options.object), environment.name);
    const keyText = formatKey(key);
    const active = await disabling(ledger, history, (k) => k === keyText);
    if (active) {
      throw new DbeeError(
        `${keyText} is already disabled on ${environment.name} (deployment #${active.deployment.id})`,
        {
          code: 'ALREADY_DISABLED',
          hint: `enable it with dbee enable ${project} ${keyText} --env ${environment.name}`,
        },
      );
    }
    const how = options.rename ? 'rename' : 'revoke';
    const d = await requireRole(engine, 'access', 'disable routines').disableRoutine(
      conn,
      key,
      how,
      backupStamp(options.now ?? new Date()),
    );
    if (!d) throw new DbeeError(`${keyText} does not exist on ${environment.name}`, { code: 'OBJECT_MISSING' });
    if (!d.statements.length) {
      throw new DbeeError(
        `${keyText} cannot be disabled by revoking EXECUTE: no role but its owner may execute it already`,
        {
          code: 'ALREADY_DISABLED',
          hint: 'its owner (and superusers) can always call it; use --rename to move it aside',
        },
      );
    }
    const plan: PlanStep = {
      order: 1,
      project,
      key: keyText,
      objectKey: key,
      action: 'alter',
      statements: d.statements,
      reverse: d.reverse,
      transactional: true,
      hazards: [],
      source: null,
      checksum: checksumStatements(d.statements),
    };
    const what = how === 'rename' ? `renamed to ${d.renamedTo}` : `EXECUTE revoked from ${d.revoked.join(', ')}`;
    return {
      steps: [{ plan, ledgerAction: 'disable' }],
      kind: 'disable',
      reverts: null,
      summary: {
        disabled: {
          object: keyText,
          how,
          ...(how === 'rename' ? { renamedTo: d.renamedTo ?? '' } : { revoked: d.revoked }),
        },
      },
      done: (id) =>
        `${project}: disabled ${keyText} on ${environment.name}: ${what} (deployment #${id}); undo with dbee enable ${project} ${keyText} --env ${environment.name}`,
      verify:
        how === 'revoke'
          ? async () => {
              const left = await requireRole(engine, 'access', 'disable routines').disableRoutine(
                conn,
                key,
                'revoke',
                '',
              );
              if (left?.revoked.length) {
                throw new DbeeError(
                  `${keyText}: EXECUTE is still granted to ${left.revoked.join(', ')} (granted by another role, which must revoke it)`,
                  { code: 'DISABLE_INCOMPLETE', exitCode: ExitCode.applyFailed },
                );
              }
            }
          : undefined,
    };
  });
}

/**
 * `enable`: undo the `disable` of a routine (the grants given back, or the rename reversed), recorded as a
 * deployment of kind `enable` that reverts it. The routine is found in the ledger, so a routine renamed aside is
 * found under its original name. A command of the pipeline, as `disable` is.
 */
export async function enable(ctx: OperationContext, options: EnableOptions): Promise<ExitCodeValue> {
  return runRoutineCommand(ctx, options, 'enable', async ({ ledger, environment, history, conn }) => {
    const project = options.project;
    const pattern = requireObject(options.object);
    const matches = keyMatcher(pattern);
    const active = await disabling(ledger, history, matches);
    if (!active) {
      throw new DbeeError(
        `${pattern} is not disabled on ${environment.name}: no disable of it is in effect in the ledger`,
        { code: 'NOT_DISABLED', hint: 'dbee status lists the deployments' },
      );
    }
    const steps: CompensatingStep[] = active.steps.reverse().map((s, i) => ({
      plan: {
        order: i + 1,
        project,
        key: s.objectKey,
        objectKey: parseKey(s.objectKey),
        action: 'alter',
        statements: s.reverse ?? [],
        reverse: s.statements,
        transactional: s.transactional,
        hazards: [],
        source: null,
        checksum: checksumStatements(s.reverse ?? []),
      },
      ledgerAction: 'enable',
      undoes: { step: s, deployment: active.deployment },
      ...(s.reverse ? {} : { skip: 'the ledger records no reverse for it' }),
    }));
    const keyText = active.steps[0]!.objectKey;
    return {
      steps,
      kind: 'enable',
      reverts: active.deployment.id,
      summary: {},
      done: (id) =>
        `${project}: enabled ${keyText} on ${environment.name} (deployment #${id} reverts #${active.deployment.id})`,
      // The routine as its deployment made it: compared with the sources (a difference is exit 2).
      converge: () => enabledConverged(ctx, { project, environment, conn, ledger, key: keyText }),
    };
  });
}

interface Session {
  engine: Engine;
  conn: Connection;
  ledger: Ledger;
  environment: ResolvedEnvironment;
  history: DeploymentRow[];
}

interface Change {
  steps: CompensatingStep[];
  kind: 'disable' | 'enable';
  reverts: number | null;
  summary: Record<string, unknown>;
  done(deploymentId: number): string;
  /** Checked after the change committed; a failure is exit 2 (the ledger has the record). */
  verify?: () => Promise<void>;
  /** The convergence check once the steps ran (`CompensationOptions.converge`). Absent: not compared. */
  converge?: CompensationOptions['converge'];
}

/** What `disable` and `enable` read before the lock: the environment, the engine and the project's drift scope. */
interface RoutineInputs extends PipelineInputs {
  engine: Engine;
  project: string;
  /** The project's schemas as drift reads them: the fingerprint this change records covers them. */
  scope: SchemaScope;
}

/** The change planned under the lock, with what the drift check read before it. */
interface RoutineRun extends PipelinePlan {
  change: Change;
  ledger: Ledger;
  /**
   * The fingerprint the change records when it closes: the one read after it (`read`: the drift stage found the schemas
   * as their last deployment recorded them; a hand edit refuses the change), or none (nothing recorded to compare).
   */
  keep: 'read' | null;
}

/**
 * `disable` or `enable` through the pipeline (`runPipeline`): gates before the lock (the ticket), the change planned
 * under it (`plan`), printed by a dry run that reports the gates, applied as a compensating deployment of its kind
 * with the ticket, notified, and its fingerprint recorded.
 */
function runRoutineCommand(
  ctx: OperationContext,
  options: EnableOptions & { now?: Date },
  kind: 'disable' | 'enable',
  plan: (s: Session) => Promise<Change>,
): Promise<ExitCodeValue> {
  return runPipeline(ctx, routineCommand(ctx, options, kind, plan), null);
}

function routineCommand(
  ctx: OperationContext,
  options: EnableOptions & { now?: Date },
  kind: 'disable' | 'enable',
  plan: (s: Session) => Promise<Change>,
): PipelineCommand<RoutineInputs, RoutineRun> {
  return {
    command: kind,
    phase: kind,
    // A kill switch: protection asks (or needs --assume-yes), with no countdown after.
    options: { ...options, countdownFrom: 0 },
    promotion: `${kind} changes who may call a deployed routine, not what is deployed`,
    inputs: async () => {
      const { workspace } = ctx;
      const environment = workspace.environment(options.env, ctx.env);
      const target = workspace.project(options.project);
      const engine = engineFor(ctx, environment, [target]);
      if (!engine.access) {
        throw new DbeeError(`the ${engine.name} engine cannot disable routines yet`, {
          code: 'ENGINE_CAPABILITY',
          hint: 'nothing was changed',
        });
      }
      const { variables } = workspace.settings(target, environment);
      const graph = graphProject(target, variables, workspace.projects, engine.capabilities.keyNames);
      return {
        environment,
        pkg: null,
        planned: [target.name],
        session: { engine, environment, deploy: workspace.settings(target, environment).deploy },
        engine,
        project: target.name,
        scope: { schemas: graph.schemas, manage: projectManagedScope(workspace.root, target, variables) },
      };
    },
    drift: (input) => ({ subjects: [{ project: input.project, scope: input.scope }] }),
    plan: async (input, session, _report, drift) => {
      const { engine, environment } = input;
      const { conn } = session;
      const ledger = openLedger(conn, engine.ledger);
      const history = (await ledger.tables.exists())
        ? await ledger.deployments.list(input.project, environment.name, Number.MAX_SAFE_INTEGER)
        : [];
      const change = await plan({ engine, conn, ledger, environment, history });
      const steps = liveProjectPlan(
        engine.name,
        input.project,
        change.steps.map((s) => s.plan),
      );
      return {
        plan: steps,
        problems: [],
        planChecksum: planChecksum(steps),
        commit: null,
        change,
        ledger,
        // After the drift stage: the fingerprint after the change when the schemas were as recorded before it.
        keep: (await drift.state(input.project)) === 'no' ? 'read' : null,
      };
    },
    verify: async (_input, _session, run) => printChange(ctx, run.change),
    settle: async () => ExitCode.ok,
    apply: (input, session, run, report) => applyChange(ctx, input, session, run, report),
    failure: projectFailure,
  };
}

/** A dry run: each step's statements and what undoes them. */
function printChange(ctx: OperationContext, change: Change): void {
  for (const s of change.steps) {
    ctx.stdout.write(`-- ${change.kind} ${s.plan.key}${s.skip ? ` (left as it is: ${s.skip})` : ''}\n`);
    for (const sql of s.plan.statements) ctx.stdout.write(sql + ';\n');
    ctx.stdout.write(`-- undone by:\n${(s.plan.reverse ?? []).map((sql) => `--   ${sql};\n`).join('')}`);
  }
}

/**
 * Stages `apply` and `ledger`: the change applied as a compensating deployment of its kind (the ticket recorded, the
 * fingerprint as `RoutineRun.keep` says), then its own check (`Change.verify`). A failure is exit 2.
 */
async function applyChange(
  ctx: OperationContext,
  input: RoutineInputs,
  session: DeploymentSession,
  run: RoutineRun,
  report: DeployReport,
): Promise<PipelineApplied> {
  const { engine, environment, project } = input;
  const { change, ledger, keep } = run;
  const { conn } = session;
  await ledger.tables.ensure();
  const diff = engine.diff;
  const fingerprint = async (): Promise<RecordedFingerprint | null> =>
    keep === 'read' && diff ? readRecordable(diff, conn, input.scope) : null;
  const result = await runCompensation({
    beforeStep: session.assertLock,
    engine,
    conn,
    ledger,
    reporter: ctx.reporter,
    steps: change.steps,
    summary: change.summary,
    fingerprint,
    ...(change.converge ? { converge: change.converge } : {}),
    deployment: {
      project,
      environment: environment.name,
      kind: change.kind,
      planChecksum: run.planChecksum!,
      package: null,
      ...(await runOrigin(ctx, lockOwner())),
      stepsTotal: change.steps.length,
      reverts: change.reverts,
      ticket: report.ticket,
    },
  });
  let error: DbeeError | undefined;
  if (result.status === 'failed' && result.error?.code === 'NOT_CONVERGED') {
    error = result.error;
  } else if (result.status === 'failed') {
    error = DbeeError.carrying(
      result.error?.code ?? 'STATEMENT_FAILED',
      result.error?.message ?? `${change.kind} failed`,
      {
        exitCode: ExitCode.applyFailed,
        hint: `nothing was changed; the ledger records the attempt (deployment ${result.deploymentId})`,
        cause: result.error,
      },
    );
  } else {
    error = await change.verify?.().then(
      () => undefined,
      (e: unknown) => {
        if (e instanceof DbeeError) return e;
        throw e;
      },
    );
    if (!error) ctx.reporter.info(change.done(result.deploymentId));
  }
  return { result: compensationRunResult([{ project, steps: change.steps, result, error }]), smoke: new Map() };
}

function requireObject(object: string | undefined): string {
  if (!object)
    throw new DbeeError('missing <object>: the routine, e.g. function:sales.order_total(bigint) or sales.order_total', {
      code: 'OPTIONS_INVALID',
    });
  return object.trim();
}

/** `function:sales.total(bigint)`, `sales.total(bigint)`, `sales.total` → kind, schema, name and (maybe) arguments. */
function parseRoutine(text: string): { kind?: string; schema: string; name: string; args?: string[] } {
  const m = /^(?:([a-z-]+):)?([^.()]+)\.([^()]+?)\s*(?:\(([^)]*)\))?$/.exec(text);
  if (!m) {
    throw new DbeeError(
      `"${text}" is not a routine: expected function:<schema>.<name>(<argument types>) or <schema>.<name>`,
      { code: 'OPTIONS_INVALID' },
    );
  }
  if (m[1] && !ROUTINE_KINDS.has(m[1]))
    throw new DbeeError(`"${text}": only functions and procedures can be disabled`, { code: 'OPTIONS_INVALID' });
  const args = m[4] === undefined ? undefined : m[4].trim() === '' ? [] : m[4].split(',').map(normaliseArg);
  return { kind: m[1], schema: m[2]!.trim(), name: m[3]!.trim(), args };
}

function normaliseArg(a: string): string {
  return a.trim().replace(/\s+/g, ' ').toLowerCase();
}

/** The one routine that `text` names in the database; ambiguous or missing names are errors that list the candidates. */
async function resolveRoutine(engine: Engine, conn: Connection, text: string, environment: string): Promise<ObjectKey> {
  const want = parseRoutine(text);
  const found = (
    await requireRole(engine, 'access', 'disable routines').findRoutines(conn, want.schema, want.name)
  ).filter(
    (k) =>
      (!want.kind || k.kind === want.kind) &&
      (!want.args || (k.args ?? []).map(normaliseArg).join(',') === want.args.join(',')),
  );
  if (found.length === 1) return found[0]!;
  if (!found.length) {
    const others = await requireRole(engine, 'access', 'disable routines').findRoutines(conn, want.schema, want.name);
    throw new DbeeError(`${text} does not exist on ${environment}`, {
      code: 'OBJECT_MISSING',
      hint: others.length
        ? `routines with that name: ${others.map(formatKey).join(', ')}`
        : 'check the schema and the name',
    });
  }
  throw new DbeeError(`${text} names ${found.length} routines on ${environment}: ${found.map(formatKey).join(', ')}`, {
    code: 'OBJECT_AMBIGUOUS',
    hint: 'name one with its argument types',
  });
}

/** Whether a ledger key is the routine a user named (a full key, or schema.name with or without kind and arguments). */
function keyMatcher(text: string): (key: string) => boolean {
  const want = parseRoutine(text);
  return (key) => {
    let k: ObjectKey;
    try {
      k = parseKey(key);
    } catch {
      return false;
    }
    return (
      k.schema === want.schema &&
      k.name === want.name &&
      (!want.kind || k.kind === want.kind) &&
      (!want.args || (k.args ?? []).map(normaliseArg).join(',') === want.args.join(','))
    );
  };
}

/** The newest `disable` still in effect (its steps applied) whose routine matches, with those steps. */
async function disabling(
  ledger: Pick<Ledger, 'steps'>,
  history: DeploymentRow[],
  matches: (key: string) => boolean,
): Promise<{ deployment: DeploymentRow; steps: LedgerStep[] } | null> {
  for (const d of history) {
    if (d.kind !== 'disable' || d.steps_applied <= 0) continue;
    const steps = (await ledger.steps.of(d.id)).filter((s) => s.status === 'applied' && matches(s.objectKey));
    if (steps.length) return { deployment: d, steps };
  }
  return null;
}
