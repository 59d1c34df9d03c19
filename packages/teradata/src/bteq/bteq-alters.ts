import {
  checksumStatements,
  DbeeAggregateError,
  DbeeError,
  migrationVersionOf,
  openLedger,
  type Connection,
  type Ledger,
  type Plan,
  type PlanStep,
} from '@dbee/core';
import { expandPlaceholders } from '../parse/placeholders';
import { planChange } from '../render/teradata-change';
import { teradataLedger } from '../ledger/teradata-ledger';

type LedgerState = Awaited<ReturnType<Ledger['objects']['state']>>;
/** A declared rename (db.yaml `renames:`), placeholders expanded. */
type Rename = { kind: string; schema: string; table?: string; from: string; to: string };

/** Kinds a script can only CREATE: a changed definition of one the ledger has is planned against the target. */
export const CREATE_ONLY_KINDS = new Set(['table', 'join-index', 'hash-index']);

/**
 * An object of the plan whose file changed since its deployment, planned against the target at export (#73 item 4):
 * its steps run only while the ledger holds it at `from` (the checksum the steps were planned from), at a checksum one
 * of its own steps wrote (a re-run after a stop), or at `to` (done).
 */
export interface ChangedInPlace {
  /** The ledger's checksum of the object when the scripts were exported. */
  from: string;
  /** The sources' checksum: what the object's last step records. */
  to: string;
  /** `order` of the object's steps in the exported plan, in order. */
  orders: number[];
}

/** The plan as `planAgainstTarget` made it, and what its scripts must know about the objects it planned in place. */
export interface TargetPlan {
  plan: Plan;
  /** By object key. */
  changed: Map<string, ChangedInPlace>;
}

/**
 * The plan for a BTEQ export to one target: each table, join index or hash index whose file changed since the ledger
 * recorded it becomes the ALTER TABLE steps `dbee deploy` plans for it (`planChange`, the same function, against
 * `SHOW TABLE` of the target: add a column, widen one, a declared rename, DEFAULT and TITLE, compression, secondary
 * indexes, comments, statistics), recorded as `alter` steps of the object; the script cannot read the target to plan
 * them when it runs. A change ALTER TABLE cannot make is refused (exit 1, `OBJECT_NEEDS_MIGRATION`, naming the
 * object, what changed and the way to make it), unless the project has a migration the ledger has not run: then, as
 * `dbee deploy` does, the object's step runs after that migration and only records the file's new text. Reads the
 * target and its ledger, changes nothing. A ledger that does not exist yet changes nothing in the plan.
 */
export async function planAgainstTarget(
  conn: Connection,
  plan: Plan,
  options: {
    variables: Record<string, string>;
    ledgerDatabase: string;
    renames: readonly Rename[];
    stamp: string;
  },
): Promise<TargetPlan> {
  const states = await ledgerStates(conn, plan, options.ledgerDatabase);
  const changed = new Map<string, ChangedInPlace>();
  if (!states) return { plan, changed };
  const errors: DbeeError[] = [];
  const steps: PlanStep[] = [];
  const afterMigrations: PlanStep[] = [];
  const planned = new Map<PlanStep, PlanStep[]>();
  for (const step of plan.steps) {
    const from = states.get(step.project)?.objects[step.key];
    const to = checksumStatements(step.statements, options.variables);
    if (step.action !== 'create' || !CREATE_ONLY_KINDS.has(step.objectKey.kind) || !from || from === to) {
      steps.push(step);
      continue;
    }
    const statements = step.statements.map((s) => expandPlaceholders(s, options.variables));
    const result = await planChange(conn, {
      key: step.objectKey,
      statements,
      stamp: options.stamp,
      renames: options.renames,
    });
    const recordOnly: PlanStep = { ...step, action: 'alter', statements: [], reverse: [], hazards: [] };
    if ('migration' in result) {
      if (pendingMigrations(plan, step.project, states.get(step.project)!).length) {
        afterMigrations.push(recordOnly);
        planned.set(step, [recordOnly]);
      } else errors.push(needsMigration(step, result.migration));
      continue;
    }
    const alters: PlanStep[] = result.steps.length
      ? result.steps.map((s) => ({
          ...step,
          action: 'alter',
          statements: s.statements,
          reverse: s.reverse,
          hazards: s.hazards,
        }))
      : [recordOnly];
    steps.push(...alters);
    planned.set(step, alters);
  }
  if (errors.length === 1) throw errors[0]!;
  if (errors.length > 1) throw new DbeeAggregateError(`${errors.length} objects cannot be exported`, errors);
  for (const s of afterMigrations) {
    const last = steps.findLastIndex((x) => x.project === s.project && x.action === 'migrate');
    steps.splice(last + 1, 0, s);
  }
  steps.forEach((s, i) => (s.order = i + 1));
  for (const [step, alters] of planned)
    changed.set(step.key, {
      from: states.get(step.project)!.objects[step.key]!,
      to: checksumStatements(step.statements, options.variables),
      orders: alters.map((a) => a.order),
    });
  return { plan: { ...plan, steps }, changed };
}

/** Each planned project's ledger state on the target; null when the target has no ledger yet (a first release). */
async function ledgerStates(conn: Connection, plan: Plan, database: string): Promise<Map<string, LedgerState> | null> {
  const ledger = openLedger(conn, teradataLedger(database));
  const out = new Map<string, LedgerState>();
  try {
    for (const project of plan.projects) out.set(project, await ledger.objects.state(project));
  } catch (e) {
    // 3807: the ledger's tables do not exist on this target yet; nothing is deployed there.
    if (/\b3807\b/.test(String((e as Error).message))) return null;
    throw e;
  }
  return out;
}

/** The migration steps of `project` in `plan` that its ledger has not run. */
function pendingMigrations(plan: Plan, project: string, state: LedgerState): PlanStep[] {
  return plan.steps.filter(
    (s) => s.project === project && s.action === 'migrate' && !state.migrations[migrationVersionOf(s.objectKey.name)],
  );
}

function needsMigration(step: PlanStep, changes: string[]): DbeeError {
  return new DbeeError(
    `${step.key} changed since it was deployed in a way ALTER TABLE cannot make in place: ${changes.join('; ')}`,
    {
      code: 'OBJECT_NEEDS_MIGRATION',
      ...(step.source ? { location: { file: step.source.file, line: step.source.line } } : {}),
      hint:
        'build the table aside in a migration (CREATE TABLE under a new name with the new definition, INSERT ... SELECT the rows, ' +
        'then RENAME TABLE twice), keep the new definition in the file, and export again: deploy.btq then runs the migration and records the file',
      details: { object: step.key, project: step.project, changes },
    },
  );
}
