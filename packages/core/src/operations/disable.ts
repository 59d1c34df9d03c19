import type { ResolvedEnvironment } from '../config/resolve';
import { requireRole, type Connection, type Engine } from '../engine/engine';
import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import type { Ledger, DeploymentRow, LedgerStep } from '../ledger/ledger';
import { openLedger } from '../ledger/open-ledger';
import { formatKey, parseKey, type ObjectKey } from '../model/object-key';
import { liveProjectPlan, type Plan, type PlanStep } from '../plan/plan';
import { planChecksum } from '../plan/serialize';
import { runCompensation, type CompensatingStep, type CompensationResult } from '../runner/undo';
import { checksumStatements } from '../sources/checksum';
import { backupStamp } from '../plan/backup-stamp';
import { runOrigin } from '../context/origin';
import { engineFor, type OperationContext } from '../context/operation-context';
import { lockOwner, withSession, type DeploymentSession } from '../runner/session';
import { checkGates } from '../pipeline/gates';
import type { DisableOptions, EnableOptions } from '../options';

export type { DisableOptions, EnableOptions };

const ROUTINE_KINDS = new Set(['function', 'procedure']);

/**
 * `disable`: make a routine uncallable, fast: revoke EXECUTE from PUBLIC and from every role but its owner (each
 * revoked grant recorded, with its grant option), or rename it aside (`--rename`). Under the deployment lock,
 * recorded in the ledger as a deployment of kind `disable` whose step holds the exact reverse; `dbee enable` runs
 * it. A kill switch: protection (`--assume-yes`) applies, the countdown and maintenance windows do not.
 */
export async function disable(ctx: OperationContext, options: DisableOptions): Promise<ExitCodeValue> {
  return withDatabase(ctx, options, async ({ engine, conn, ledger, environment, history }) => {
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
    if (!d) throw new DbeeError(`${keyText} does not exist on ${environment.name}`, { code: 'OBJECT_NOT_FOUND' });
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
 * found under its original name.
 */
export async function enable(ctx: OperationContext, options: EnableOptions): Promise<ExitCodeValue> {
  return withDatabase(ctx, options, async ({ ledger, environment, history }) => {
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
}

/** Lock, connect, plan the change, print it (dry run) or pass the gates and record it. */
async function withDatabase(
  ctx: OperationContext,
  options: EnableOptions,
  plan: (s: Session) => Promise<Change>,
): Promise<ExitCodeValue> {
  const { workspace, reporter } = ctx;
  const environment = workspace.environment(options.env, ctx.env);
  const target = workspace.project(options.project);
  const engine = engineFor(ctx, environment, [target]);
  if (!engine.access) {
    throw new DbeeError(`the ${engine.name} engine cannot disable routines yet`, {
      code: 'ENGINE_CAPABILITY',
      hint: 'nothing was changed',
    });
  }
  const settings = workspace.settings(target, environment).deploy;
  return withSession(
    { engine, environment, workspaceRoot: workspace.root, reporter, deploy: settings },
    async (session) => {
      const { conn } = session;
      const ledger = openLedger(conn, engine.ledger);
      const history = (await ledger.exists())
        ? await ledger.deployments(target.name, environment.name, Number.MAX_SAFE_INTEGER)
        : [];
      const change = await plan({ engine, conn, ledger, environment, history });
      if (options.dryRun) {
        printChange(ctx, change);
        reporter.info('dry run: nothing was changed');
        return ExitCode.ok;
      }
      const result = await applyChange(ctx, options, { engine, conn, ledger, environment, history }, session, {
        project: target.name,
        change,
      });
      await change.verify?.();
      reporter.info(change.done(result.deploymentId));
      return ExitCode.ok;
    },
  );
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
 * The change applied as a compensating deployment of its kind, after the gates a kill switch keeps (protection still
 * asks; maintenance windows and the countdown do not: it is for emergencies). A failure is exit 2.
 */
async function applyChange(
  ctx: OperationContext,
  options: EnableOptions,
  { engine, conn, ledger, environment }: Session,
  session: DeploymentSession,
  { project, change }: { project: string; change: Change },
): Promise<CompensationResult> {
  const steps: Plan = liveProjectPlan(
    engine.name,
    project,
    change.steps.map((s) => s.plan),
  );
  await checkGates(ctx, { ...environment, gates: { ...environment.gates, maintenanceWindows: undefined } }, steps, {
    assumeYes: options.assumeYes ?? false,
    skipCountdown: true,
  });
  await ledger.ensure();
  const owner = lockOwner();
  const result = await runCompensation({
    beforeStep: session.assertLock,
    engine,
    conn,
    ledger,
    reporter: ctx.reporter,
    steps: change.steps,
    summary: change.summary,
    deployment: {
      project,
      environment: environment.name,
      kind: change.kind,
      planChecksum: planChecksum(steps),
      package: null,
      ...(await runOrigin(ctx, owner)),
      stepsTotal: change.steps.length,
      reverts: change.reverts,
    },
  });
  if (result.status === 'failed') {
    throw new DbeeError(result.error?.message ?? `${change.kind} failed`, {
      code: result.error?.code ?? 'STATEMENT_FAILED',
      exitCode: ExitCode.applyFailed,
      hint: `nothing was changed; the ledger records the attempt (deployment ${result.deploymentId})`,
      cause: result.error,
    });
  }
  return result;
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
      code: 'OBJECT_NOT_FOUND',
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
  ledger: Ledger,
  history: DeploymentRow[],
  matches: (key: string) => boolean,
): Promise<{ deployment: DeploymentRow; steps: LedgerStep[] } | null> {
  for (const d of history) {
    if (d.kind !== 'disable' || d.steps_applied <= 0) continue;
    const steps = (await ledger.steps(d.id)).filter((s) => s.status === 'applied' && matches(s.objectKey));
    if (steps.length) return { deployment: d, steps };
  }
  return null;
}
