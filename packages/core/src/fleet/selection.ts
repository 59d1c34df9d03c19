import { DbeeError } from '../errors';
import { FLEET_TARGET_SEPARATOR, type FleetTarget } from '../config/resolve';
import type { OperationContext } from '../context/operation-context';
import type { DeployOptions } from '../options';
import { fleetTargets } from './targets';
import { parseLabels, parseShard, selectByLabels, targetsOfShard, type Shard } from './select';

/** The targets a fleet command runs on. */
export interface FleetSelection {
  /** Every target `--labels` selects, in fleet order. */
  selected: FleetTarget[];
  /** The canary targets: the first `--canary` of `selected`. */
  canaries: FleetTarget[];
  /** The targets of this process: `selected`, or its shard's part of it (the canaries belong to shard 1). */
  mine: FleetTarget[];
  shard: Shard | null;
}

/** Discover the fleet's targets, then keep those `--labels` selects and this `--shard` holds. Refused when none is left. */
export async function selectTargets(
  ctx: OperationContext,
  fleet: string,
  options: { labels?: string; shard?: string; canary?: number },
): Promise<FleetSelection> {
  const selectors = parseLabels(options.labels);
  const shard = parseShard(options.shard, ctx.env);
  const all = await fleetTargets(ctx, fleet);
  const selected = selectByLabels(all, selectors);
  if (!selected.length) {
    throw new DbeeError(
      `fleet ${fleet}: no target${options.labels ? ` has the labels ${options.labels}` : ''} (${all.length} target${all.length === 1 ? '' : 's'} in all)`,
      {
        code: 'FLEET_EMPTY',
        location: ctx.workspace.file.locate(['environments', fleet, 'fleet']),
        hint: options.labels
          ? 'check the labels: every key=value pair given must match a target'
          : 'declare targets, or check the discovery query or command',
      },
    );
  }
  const canaries = selected.slice(0, options.canary ?? 0);
  const mine = targetsOfShard(selected, new Set(canaries.map((t) => t.name)), shard);
  return { selected, canaries, mine, shard };
}

/** The environment name of one target: `tenants/acme`. */
export function fleetTargetName(fleet: string, target: Pick<FleetTarget, 'name'>): string {
  return `${fleet}${FLEET_TARGET_SEPARATOR}${target.name}`;
}

/** A fleet deployment's options as each target's deployment gets them: without the fleet's own (its report is the fleet's). */
export function withoutFleetOptions(options: DeployOptions): DeployOptions {
  return {
    ...options,
    canary: undefined,
    concurrency: undefined,
    maxFailures: undefined,
    labels: undefined,
    shard: undefined,
    report: undefined,
  };
}
