import type { ResolvedEnvironment } from '../config/resolve';
import type { DbProject } from '../config/workspace';
import { fullModels } from '../context/load';
import type { OperationContext } from '../context/operation-context';
import { desiredModelFor } from '../diffing/desired';
import type { Engine } from '../engine/engine';
import { DbeeAggregateError, DbeeError } from '../errors';
import { formatKey, migrationKey } from '../model/object-key';
import type { PolicyException } from '../plan/plan';
import type { ProjectModel } from '../planner/project-model';
import { emptyModel, type SchemaModel } from '../schema/model';
import { policiesConfigured } from '../policies/blocks';
import type { PolicyFinding, PolicyJudgment, PolicySettings } from '../policies';

/** What the policies judged for one project, with the settings they ran with. */
export interface ProjectJudgment {
  project: string;
  settings: PolicySettings;
  judgment: PolicyJudgment;
}

/**
 * The schema review policies of `project` on `environment` (docs/policies.md), over the desired model of its sources
 * (built in the shadow, as a diff builds it): every object with `judged: 'all'`, else the objects and migrations the
 * plan's steps touch (the change). `whenConfigured`: judge only where `policies:` is written (deploy and plan), not
 * with the default set alone (`check --policies` judges with it). Null when nothing is judged.
 */
export async function judgeProject(
  ctx: OperationContext,
  args: {
    project: DbProject;
    environment: ResolvedEnvironment;
    engine: Engine;
    models: ProjectModel[];
    judged: 'all' | ReadonlyArray<{ project: string; key: string }>;
    whenConfigured: boolean;
    /** The project's desired model when the caller has it (`dbee docs`): not read again from a cache still being written. */
    desired?: SchemaModel;
  },
): Promise<ProjectJudgment | null> {
  const { project, environment, engine } = args;
  // A deployment judges the policies a workspace configures: with none, the catalogue of rules is not even loaded.
  if (args.whenConfigured && !policiesConfigured(ctx.workspace, project, environment.name)) return null;
  const { judgePolicies, PolicySubject, policySettings, readExceptions } = await import('../policies');
  const settings = policySettings(ctx.workspace, project, environment.name);
  if (!settings.rules.some((r) => r.level !== 'off')) return null;
  const steps = args.judged === 'all' ? null : args.judged.filter((s) => s.project === project.name);
  if (steps && steps.length === 0) return null;
  // The project with its dependencies, as every other reader of its desired model builds it: the same model (a
  // dependent's grants or comments do not reach into it), and one build the command shares (desiredModelKey).
  const closure = new Set(ctx.workspace.withDependencies(project.name).map((p) => p.name));
  const models = (await fullModels(ctx, args.models, environment, engine)).filter((m) => closure.has(m.project.name));
  const own = models.find((m) => m.project.name === project.name);
  if (!own) return null;
  const { exceptions, problems } = readExceptions(own.files);
  if (problems.length === 1) throw problems[0]!;
  if (problems.length)
    throw new DbeeAggregateError(
      `${problems.length} dbee:allow comments are invalid`,
      problems,
      'POLICY_EXCEPTION_INVALID',
    );
  // An engine without a shadow database (Teradata) builds no desired model: its rules read the migrations alone
  // (`PolicyRule.engines`), so they are judged over an empty model. A caller that built the model passes it.
  const desired = args.desired
    ? { model: args.desired }
    : engine.diff
      ? await desiredModelFor(ctx, { engine, environment, models, target: project.name })
      : { model: emptyModel() };
  const judged = steps ? new Set(steps.map((s) => s.key)) : 'all';
  const migrations = own.migrations
    .filter((m) => judged === 'all' || judged.has(formatKey(migrationKey(project.name, m.file.versionParts.join('.')))))
    .map((m) => ({
      file: m.file.path,
      statements: m.statements.map((s) => ({ sql: s.sql, location: s.location })),
      hasRollback: m.rollback.length > 0,
    }));
  const subject = new PolicySubject(desired.model, own.objects, migrations, judged);
  return { project: project.name, settings, judgment: judgePolicies(subject, settings, exceptions) };
}

/** The refusal for the `error` findings of a judgment (exit 1, before anything is applied), or null when none. */
export function policyRefusal(judged: ProjectJudgment): DbeeError | null {
  const errors = judged.judgment.findings.filter((f) => f.level === 'error');
  if (!errors.length) return null;
  const first = errors[0]!;
  return new DbeeError(
    `${judged.project}: ${errors.length} schema polic${errors.length === 1 ? 'y' : 'ies'} at level error: ${first.message} [${first.rule}]${errors.length > 1 ? ` and ${errors.length - 1} more` : ''}`,
    {
      code: 'POLICY_VIOLATION',
      location: first.location ?? undefined,
      hint: 'fix the object, or excuse it in its file with -- dbee:allow <rule> <reason> (docs/policies.md); dbee check --policies lists every finding',
      details: { findings: errors.map((f) => ({ rule: f.rule, message: f.message, location: f.location })) },
    },
  );
}

/** What the policies found over a plan's change: the refusals, the findings (for review formats), the exceptions. */
export interface PlanPolicies {
  problems: DbeeError[];
  findings: PolicyFinding[];
  exceptions: Map<string, PolicyException[]>;
}

/**
 * The policies of each planned project over the plan's change, where `policies:` is written (deploy and plan): warnings
 * printed, each exception used named (a deployment records them in its ledger row, a plan in `policyExceptions`), and
 * the refusal of the `error` findings.
 */
export async function planPolicyProblems(
  ctx: OperationContext,
  input: { environment: ResolvedEnvironment; engine: Engine; models: ProjectModel[]; planned: readonly string[] },
  plan: { steps: ReadonlyArray<{ project: string; key: string }> },
): Promise<PlanPolicies> {
  const problems: DbeeError[] = [];
  const findings: PolicyFinding[] = [];
  const exceptions = new Map<string, PolicyException[]>();
  for (const name of input.planned) {
    const judged = await judgeProject(ctx, {
      project: ctx.workspace.project(name),
      environment: input.environment,
      engine: input.engine,
      models: input.models,
      judged: plan.steps,
      whenConfigured: true,
    });
    if (!judged) continue;
    findings.push(...judged.judgment.findings);
    for (const f of judged.judgment.findings.filter((x) => x.level === 'warning'))
      ctx.reporter.warn(
        `policy ${f.rule}: ${f.message}${f.location ? ` (${f.location.file}:${f.location.line})` : ''}`,
      );
    for (const e of judged.judgment.excused) {
      const own = exceptions.get(name) ?? [];
      own.push({
        rule: e.rule,
        reason: e.reason,
        file: e.location.file,
        line: e.location.line,
        excused: e.findings.length,
      });
      exceptions.set(name, own);
      ctx.reporter.info(
        `policy ${e.rule} allowed by ${e.location.file}:${e.location.line} (${e.reason}): ${e.findings.length} finding(s) excused`,
      );
    }
    const refusal = policyRefusal(judged);
    if (refusal) problems.push(refusal);
  }
  return { problems, findings, exceptions };
}
