import type { ResolvedEnvironment } from '../config/resolve';
import { schemaOwners } from '../context/load';
import type { OperationContext } from '../context/operation-context';
import type { Plan } from '../plan/plan';
import type { DeployedState } from '../planner/planner';
import type { ProjectModel } from '../planner/project-model';
import { selectionGraph, selectPlan, type Selection } from '../planner/selection';
import type { DeployReport } from '../runner/deploy-report';

/**
 * The plan stage's filter of `--objects`/`--objects-from` (`deploy`, `plan`): the selection's plan (planner/selection.ts),
 * said (what is deployed, what it takes along, what stays pending) and recorded in the report.
 */
export function selectedPlan(
  ctx: OperationContext,
  input: {
    selection: Selection;
    models: readonly ProjectModel[];
    planned: readonly string[];
    owners: ReadonlyMap<string, string>;
  },
  plan: Plan,
  deployed: ReadonlyMap<string, DeployedState>,
  report: DeployReport | null,
  strict = true,
): Plan {
  const graph = selectionGraph(input.models, input.planned, input.owners);
  const made = selectPlan(plan, input.selection, graph, deployed, strict);
  const { info } = ctx.reporter;
  const list = (keys: string[]) => keys.join(', ') || 'none';
  info(
    `selection: ${list(made.selected)}${made.selected.length ? '' : ' (nothing pending among the selected objects)'}`,
  );
  if (made.needed.length) info(`  with the pending changes they need (--with-needed): ${list(made.needed)}`);
  if (made.unmet.length)
    info(
      `  they need ${list(made.unmet)}: to be deployed on the target already (a dry run of the package verifies it), or take them along with --with-needed`,
    );
  if (made.dependents.length)
    info(`  pending changes over them, left pending (select them to deploy them too): ${list(made.dependents)}`);
  if (made.pending.length) info(`  left pending: ${list(made.pending)}`);
  if (report)
    report.selection = {
      globs: input.selection.entries.map((e) => e.glob),
      objects: made.selected,
      needed: made.needed,
      pending: made.pending,
    };
  return made.plan;
}

/**
 * The schemas that projects of the workspace other than `planned` own: an entry of a selection naming one of them is
 * another project's (Nx runs a target's dependencies with the same options: `nx run db-c:deploy --objects
 * function:c.one` deploys db-a first with that selection too), so it selects nothing here instead of being refused.
 */
export function schemasElsewhere(
  ctx: OperationContext,
  environment: ResolvedEnvironment,
  planned: readonly string[],
): Set<string> {
  // As deployed on this environment (placeholders expanded, names read as identifiers), as the selection's keys are.
  return new Set([...schemaOwners(ctx, environment)].filter(([, p]) => !planned.includes(p)).map(([s]) => s));
}
