import type { BrokenQuery, ChangedQuery, CompatReport } from '../check/compat';
import type { DbtReport } from '../check/dbt-check';
import type { DbtDriftFinding } from '../check/dbt-drift';
import type { PlanStep } from '../plan/plan';
import { formatKey } from '../model/object-key';
import type { ProjectModel } from '../planner/project-model';
import { hazardLine } from '../schema/lint-rules';
import type { PolicyFinding } from '../policies';

/**
 * One finding at a place in the sources, in the shape every review format shares (GitHub annotations, SARIF, gcc):
 * a hazard of a plan step at the file and line that defines the object, a broken application query at its file and
 * line.
 */
export interface Diagnostic {
  /** Workspace-relative file, `/`-separated (`databases/sales/schema/sales/tables/orders.sql`); null when none. */
  file: string | null;
  /** 1-based line in `file` (1 when the finding is about the whole file). */
  line: number;
  /** 1-based column (1: dbee locates statements, not characters within them). */
  column: number;
  /** `error` refuses a deployment unless allowed (data loss, a query that breaks); `warning` asks for a look. */
  severity: 'error' | 'warning';
  /** A stable id: `hazard/<kind>` (with the lint rule, `hazard/<kind>/<rule>`), `check/broken-query`... */
  rule: string;
  /** One line for people: what, on which object, why. */
  message: string;
}

/** The hazard kinds a reviewer must act on: the data is gone once the step ran. */
const ERROR_HAZARDS = new Set(['data-loss']);

/** Where each object of the projects' sources is defined, by its key (`table:sales.orders`). */
export type SourceLocations = ReadonlyMap<string, { file: string; line: number }>;

/** The definitions of the models' objects: what locates a step planned by a diff of two models (its source is null). */
export function sourceLocations(models: readonly Pick<ProjectModel, 'objects'>[]): SourceLocations {
  return new Map(
    models.flatMap((m) => m.objects.map((o) => [formatKey(o.key), { file: o.location.file, line: o.location.line }])),
  );
}

/**
 * Each hazard of each step, at the step's source (file and line of the object's definition); a step planned by a diff
 * of two models has none, and is placed where `locations` says its object is defined (a dropped object: nowhere).
 */
export function planDiagnostics(steps: readonly PlanStep[], locations: SourceLocations = new Map()): Diagnostic[] {
  return steps.flatMap((step) =>
    step.hazards.map((h) => ({
      file: (step.source ?? locations.get(step.key))?.file ?? null,
      line: (step.source ?? locations.get(step.key))?.line ?? 1,
      column: 1,
      severity: ERROR_HAZARDS.has(h.kind) ? ('error' as const) : ('warning' as const),
      rule: `hazard/${h.kind}${h.rule ? `/${h.rule}` : ''}`,
      message: `step ${step.order} ${step.action} ${step.key}: ${hazardLine(h)}`,
    })),
  );
}

/**
 * The compatibility check's findings at each query's origin (`app/queries/orders.sql:12`): a query the plan breaks
 * (error), one whose result columns change (warning), a query of the new application version that fails (error).
 */
export function compatDiagnostics(report: CompatReport): Diagnostic[] {
  const steps = (q: BrokenQuery | ChangedQuery) =>
    q.steps.length ? ` (${q.steps.map((s) => `step ${s.order} ${s.action} ${s.key}`).join(', ')})` : '';
  return [
    ...report.broken.map((q) => ({
      ...origin(q.query.origin),
      severity: 'error' as const,
      rule: 'check/broken-query',
      message: `query fails after the plan: ${q.error}${steps(q)}`,
    })),
    ...report.changed.map((q) => ({
      ...origin(q.query.origin),
      severity: 'warning' as const,
      rule: 'check/changed-result',
      message: `query's result changes: ${q.before.join(', ')} -> ${q.after.join(', ')}${steps(q)}`,
    })),
    ...(report.next?.failing ?? []).map((q) => ({
      ...origin(q.query.origin),
      severity: 'error' as const,
      rule: 'check/new-query-fails',
      message: `the new application's query fails after the plan: ${q.error}${steps(q)}`,
    })),
  ];
}

/** `file:line` of a query's origin; a source without a file (a live source) has none. */
function origin(text: string): Pick<Diagnostic, 'file' | 'line' | 'column'> {
  const m = /^(.+):(\d+)$/.exec(text);
  return m ? { file: m[1]!, line: Number(m[2]), column: 1 } : { file: null, line: 1, column: 1 };
}

/**
 * The dbt check's findings: each finding of a node that breaks (an error) or cannot be judged (a warning), at its place
 * in the node's file (`file:line:column` of the compiled SQL mapped back, else the node's file); each drift finding at
 * the dbt project's YAML file that declares the source. Nodes that pass, and the sources the release touches, are
 * information of the text report only.
 */
export function dbtDiagnostics(report: DbtReport, drift: readonly DbtDriftFinding[]): Diagnostic[] {
  const nodes = report.nodes.flatMap((n) =>
    n.verdict === 'pass'
      ? []
      : n.findings
          .filter((f) => f.verdict !== 'pass')
          .map((f) => ({
            file: f.at?.file ?? n.file,
            line: f.at?.line ?? 1,
            column: f.at?.column ?? 1,
            severity: f.verdict === 'breaking' ? ('error' as const) : ('warning' as const),
            rule: `dbt/${f.verdict}`,
            message: `${n.resourceType} ${n.name}: ${f.message}${f.steps.length ? ` (${f.steps.map((s) => `step ${s.order} ${s.action} ${s.key}`).join(', ')})` : ''}`,
          })),
  );
  const drifted = drift.map((d) => ({
    file: d.yamlFile,
    line: 1,
    column: 1,
    severity: d.severity === 'error' ? ('error' as const) : ('warning' as const),
    rule: `dbt/drift/${d.rule}`,
    message: d.message,
  }));
  return [...nodes, ...drifted];
}

/** The schema review policies' findings (docs/policies.md) at the line of the object or statement they are about. */
export function policyDiagnostics(findings: readonly PolicyFinding[]): Diagnostic[] {
  return findings.map((f) => ({
    file: f.location?.file ?? null,
    line: f.location?.line ?? 1,
    column: f.location?.column ?? 1,
    severity: f.level,
    rule: `policy/${f.rule}`,
    message: f.message,
  }));
}
