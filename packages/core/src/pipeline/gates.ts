import { createInterface } from 'node:readline/promises';
import type { ResolvedEnvironment } from '../config/resolve';
import type { DeploySettings, HazardKind } from '../config/schema';
import { DbeeAggregateError, DbeeError, ExitCode } from '../errors';
import type { Connection, Engine } from '../engine/engine';
import { formatKey } from '../model/object-key';
import type { Plan, PlanStep } from '../plan/plan';
import type { ProjectModel } from '../planner/project-model';
import type { StepConflict } from '../runner/runner';
import type { OperationContext } from '../context/operation-context';
import { LINT_RULES, type LintRuleId } from '../schema/lint-rules';

/**
 * Step policies, checked against the plan before anything runs (and reported by a dry run):
 *
 * - `gates.requireBackup`: destructive steps only with a backup. Refused: the conflict strategy `drop`, and steps
 *   with a `data-loss` hazard (except `rename-aside` steps, which keep the old object).
 * - `deploy.allowHazards` (per project and environment, most specific wins) plus `--allow-hazards`: a step whose
 *   hazards are not all allowed is refused. Nothing is allowed unless listed.
 *
 * Returns one error per refused step; empty when the plan may run.
 */
export function checkStepPolicies(
  environment: ResolvedEnvironment,
  plan: Plan,
  options: {
    conflicts: ReadonlyMap<number, StepConflict>;
    settings: (project: string) => DeploySettings;
    allowHazards?: readonly HazardKind[];
  },
): DbeeError[] {
  const errors: DbeeError[] = [];
  const where = (step: PlanStep) => (step.source ? { file: step.source.file, line: step.source.line } : undefined);
  for (const step of plan.steps) {
    const conflict = options.conflicts.get(step.order);
    if (environment.gates.requireBackup) {
      if (conflict?.strategy === 'drop') {
        errors.push(
          new DbeeError(
            `step ${step.order} would drop the existing ${step.key} (conflict rule ${conflict.rule}), but environment ${environment.name} requires a backup`,
            {
              code: 'GATE_BACKUP_REQUIRED',
              location: where(step),
              hint: 'use ifExists: rename (the old object is kept as a backup), or remove gates.requireBackup',
            },
          ),
        );
      }
      const loss = step.hazards.filter((h) => h.kind === 'data-loss');
      // A step that keeps what it drops (a dropped column's values: deploy.keepDroppedColumns) has its backup.
      if (loss.length && step.action !== 'rename-aside' && !step.backup) {
        errors.push(
          new DbeeError(
            `step ${step.order} (${step.action} ${step.key}) loses data (${loss.map((h) => h.message).join('; ')}), but environment ${environment.name} requires a backup`,
            {
              code: 'GATE_BACKUP_REQUIRED',
              location: where(step),
              hint: 'keep the data first (a migration that copies it, or a rename-aside plan), or remove gates.requireBackup',
            },
          ),
        );
      }
    }
    const allowed = new Set<string>([
      ...(options.settings(step.project).allowHazards ?? []),
      ...(options.allowHazards ?? []),
    ]);
    const refused = step.hazards.filter((h) => !allowed.has(h.kind));
    if (refused.length) {
      const kinds = [...new Set(refused.map((h) => h.kind))];
      // Hazards the safe rewrites remove: say so first (planned without them, the step would run as refused).
      const rewritable = refused.every(
        (h) => h.rule && h.rule in LINT_RULES && 'safeRewrite' in LINT_RULES[h.rule as LintRuleId],
      );
      errors.push(
        new DbeeError(
          `step ${step.order} (${step.action} ${step.key}) has hazards environment ${environment.name} does not allow: ${refused.map((h) => `${h.kind} (${h.message})`).join('; ')}`,
          {
            code: 'GATE_HAZARD_REFUSED',
            location: where(step),
            hint: `review the plan with --dry-run; to accept, pass --allow-hazards=${kinds.join(',')} or add them to deploy.allowHazards${rewritable ? ', or plan it with --safe (deploy.safeRewrites), which rewrites what a diff plans so that it does not hold the lock (docs/lint-rules.md)' : ''}`,
            details: { hazards: kinds },
          },
        ),
      );
    }
  }
  return errors;
}

/**
 * The environment gates that read only the environment and the run (maintenance windows, then protection), as
 * problems: the one check that a dry run reports and a real run refuses with. Protection without `--assume-yes` is a
 * problem only when nobody can answer; an interactive real run asks for the environment's name afterwards
 * (`confirmAndCount`), and an interactive dry run says it would.
 */
function gateProblems(
  ctx: OperationContext,
  environment: ResolvedEnvironment,
  options: { assumeYes: boolean; now?: Date },
): DbeeError[] {
  const gates = environment.gates;
  const problems: DbeeError[] = [];
  if (gates.maintenanceWindows?.length) {
    const now = options.now ?? new Date();
    if (!gates.maintenanceWindows.some((w) => inWindow(w, now))) {
      const list = formatWindows(gates.maintenanceWindows);
      problems.push(
        new DbeeError(
          `environment ${environment.name} only accepts deployments inside its maintenance window (${list})`,
          {
            code: 'GATE_MAINTENANCE_WINDOW',
            location: environment.declaredAt,
            hint: 'deploy inside the window, or change gates.maintenanceWindows in dbee.yaml',
          },
        ),
      );
    }
  }
  if (gates.protected && !options.assumeYes && !ctx.interactive)
    problems.push(
      new DbeeError(`environment ${environment.name} is protected: a non-interactive run needs --assume-yes`, {
        code: 'GATE_CONFIRMATION_REQUIRED',
        location: environment.declaredAt,
        hint: 'review the plan (--dry-run), then run again with --assume-yes',
      }),
    );
  return problems;
}

/** Protection's question (interactive, without `--assume-yes`), then the countdown: the real run's only. */
export async function confirmAndCount(
  ctx: OperationContext,
  environment: ResolvedEnvironment,
  steps: number,
  options: { assumeYes: boolean; countdownFrom?: number; skipCountdown?: boolean },
): Promise<void> {
  const gates = environment.gates;
  if (!gates.protected) return;
  if (!options.assumeYes) {
    const rl = createInterface({ input: process.stdin, output: ctx.stdout });
    const answer = (
      await rl.question(
        `${steps} steps will be applied to protected environment "${environment.name}". Type its name to continue: `,
      )
    ).trim();
    rl.close();
    if (answer !== environment.name) {
      throw new DbeeError('confirmation did not match; nothing was applied', { code: 'GATE_CONFIRMATION_REFUSED' });
    }
  }
  const from = options.skipCountdown ? 0 : (options.countdownFrom ?? gates.countdown ?? 3);
  for (let i = from; i > 0; i--) {
    ctx.stdout.write(`starting in ${i}...\n`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** An environment's maintenance windows as messages name them: `mon,tue 22:00-04:00 UTC; every day 12:00-13:00 UTC`. */
export function formatWindows(
  windows: readonly { days?: string[]; from: string; to: string; timezone?: string }[],
): string {
  return windows.map((w) => `${w.days?.join(',') ?? 'every day'} ${w.from}-${w.to} ${w.timezone ?? 'UTC'}`).join('; ');
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** Whether `now` falls inside a window; windows may cross midnight (22:00-04:00). */
export function inWindow(w: { days?: string[]; from: string; to: string; timezone?: string }, now: Date): boolean {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: w.timezone ?? 'UTC',
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(now);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  const day = get('weekday').toLowerCase().slice(0, 3);
  const minutes = Number(get('hour')) * 60 + Number(get('minute'));
  const [fh, fm] = w.from.split(':').map(Number) as [number, number];
  const [th, tm] = w.to.split(':').map(Number) as [number, number];
  const from = fh * 60 + fm;
  const to = th * 60 + tm;
  if (from <= to) return (!w.days || w.days.includes(day)) && minutes >= from && minutes < to;
  // Crosses midnight: the part after midnight belongs to the previous day's window.
  if (minutes >= from) return !w.days || w.days.includes(day);
  if (minutes < to) {
    const prev = DAYS[(DAYS.indexOf(day as (typeof DAYS)[number]) + 6) % 7]!;
    return !w.days || w.days.includes(prev);
  }
  return false;
}

/**
 * The projects among `dependencies` (not applied by this run) whose owned schemas are missing on the target, with
 * those schemas, in one catalog query: what a run that applies a dependent project can know will fail (its foreign
 * keys and views reference them), refused before anything is applied. Engines that do not make schemas (Teradata:
 * databases exist beforehand, `ensureSchema` null) are not asked.
 */
export async function missingDependencySchemas(
  engine: Engine,
  conn: Connection,
  dependencies: readonly ProjectModel[],
): Promise<{ project: string; schemas: string[] }[]> {
  const catalog = engine.catalog;
  if (!catalog || !dependencies.length || catalog.ensureSchema('dbee') === null) return [];
  const keys = dependencies.flatMap((m) =>
    m.graph.schemas.map((name) => ({ kind: 'schema' as const, schema: '', name })),
  );
  const present = await catalog.existingObjects(conn, keys);
  return dependencies
    .map((m) => ({
      project: m.project.name,
      schemas: m.graph.schemas.filter((name) => !present.has(formatKey({ kind: 'schema', schema: '', name }))),
    }))
    .filter((d) => d.schemas.length > 0);
}

/** The refusal for a dependency whose schemas are missing on the target; `first` is the command that puts it there. */
export function dependencyMissing(
  project: string,
  missing: { project: string; schemas: string[] },
  environment: string,
  first: string,
): DbeeError {
  const { schemas } = missing;
  return new DbeeError(
    `${project} depends on ${missing.project}, whose schema${schemas.length > 1 ? 's' : ''} ${schemas.join(', ')} ${schemas.length > 1 ? 'are' : 'is'} not on ${environment}`,
    {
      code: 'DEPENDENCY_MISSING',
      hint: `put ${missing.project} on ${environment} first: ${first}`,
      details: { dependency: missing.project, schemas },
    },
  );
}

/**
 * The environment gates that would refuse the real run, as a dry run reports them instead of asking (`gateProblems`,
 * the real run's own checks): outside the maintenance windows, and protection without --assume-yes when nobody can
 * answer (an interactive real run asks for the environment's name: said, not refused). The countdown is never run.
 */
export function dryRunGates(
  ctx: OperationContext,
  environment: ResolvedEnvironment,
  options: { assumeYes: boolean; now?: Date },
): DbeeError[] {
  if (environment.gates.protected && !options.assumeYes && ctx.interactive)
    ctx.reporter.info(`environment ${environment.name} is protected: the real run asks you to type its name`);
  return gateProblems(ctx, environment, options);
}

/** Refuse a deployment for `problems` (one error, or an aggregate of them), saying whether anything was applied. */
export function refuse(problems: DbeeError[], dryRun: boolean): never {
  const what = dryRun ? 'the deployment would be refused' : 'nothing was applied';
  if (problems.length === 1) {
    const p = problems[0]!;
    throw DbeeError.carrying(p.code, `${p.message}; ${what}`, {
      location: p.location,
      hint: p.hint,
      details: p.details,
    });
  }
  throw new DbeeAggregateError(`${problems.length} steps cannot be deployed; ${what}`, problems);
}

/** A dry run that could not apply its plan to a copy of the target says no (exit 1), unless --no-verify. */
export function notVerified(why: string): DbeeError {
  return new DbeeError(`the dry run could not verify the plan: ${why}`, {
    code: 'DRY_RUN_NOT_VERIFIED',
    exitCode: ExitCode.invalid,
    hint: 'a dry run says yes only for a plan it applied to a copy of the target; fix what stops the copy, or pass --no-verify to print the plan unverified',
  });
}
