import type { ResolvedEnvironment } from '../config/resolve';
import { loadTarget, schemaOwners } from '../context/load';
import type { OperationContext } from '../context/operation-context';
import { convergedOnTarget, convergence } from '../diffing/converge';
import type { Connection } from '../engine/engine';
import type { Ledger } from '../ledger/ledger';
import { parseKey } from '../model/object-key';
import { planFromSources } from '../planner/planner';

/**
 * `enable`'s convergence check (diffing/converge.ts): the routine put back as its deployment made it, read from the
 * target by name, equals the sources, when its source is still the one the ledger records as deployed (its checksum);
 * a routine whose source changed since is said not compared (the next deployment plans it). What `convergedOnTarget`
 * makes of it: an error (exit 2, naming what differs) or the line the run says.
 */
export async function enabledConverged(
  ctx: OperationContext,
  input: { project: string; environment: ResolvedEnvironment; conn: Connection; ledger: Ledger; key: string },
) {
  const { project, environment, conn, key } = input;
  const { engine, models } = await loadTarget(ctx, project, environment.name);
  const now = planFromSources({ engine, models, planned: [project], schemaOwners: schemaOwners(ctx, environment) });
  const recorded = (await input.ledger.objects.deployedState(project)).objects.get(key);
  if (now.steps.find((s) => s.key === key)?.checksum !== recorded)
    return convergedOnTarget(project, {
      compared: [],
      divergences: [],
      notCompared: [{ project, reason: `the source of ${key} changed since it was deployed` }],
    });
  const steps = [{ project, key, objectKey: parseKey(key), action: 'alter' as const, statements: [] }];
  return convergedOnTarget(project, await convergence(ctx, { engine, environment, models, conn, steps }));
}
