import { Writable } from 'node:stream';
import { ExitCode, type ExitCodeValue } from '../errors';
import type { OperationContext } from '../context/operation-context';
import type { DeploymentRow } from '../ledger/ledger';
import type { StatusOptions } from '../options';
import { canonicalJson } from '../plan/serialize';
import { runWaves } from './scheduler';
import { fleetTargetName, selectTargets } from './selection';
import { FleetPlans } from '../context/fleet-plans';
import { runOnTarget, type SingleOperation } from './run-target';

/**
 * What this summary reads of a target's `dbee status --format json` (`StatusReport`, operations/status.ts): the
 * fleet runs the single-environment operation it is given and parses its output, so it declares only what it reads.
 */
interface TargetStatusJson {
  lastDeployment: DeploymentRow | null;
  pendingSteps: unknown[];
  drift: { state: 'yes' | 'no' | 'unknown' };
}

/** Targets whose status is read at once. */
const STATUS_PARALLEL = 4;

/** One target's line of `dbee status <project> --env <fleet>`. */
export interface FleetTargetStatus {
  target: string;
  labels: Record<string, string>;
  /**
   * Where the target stands: `drifted` (objects changed outside dbee since its last deployment: a deployment refuses
   * them or puts them back, by the conflict strategy), `current` (nothing pending: at the release of the sources),
   * `behind` (steps pending), `never deployed`, or `unknown` (its status could not be read: see `error`).
   */
  state: 'drifted' | 'current' | 'behind' | 'never deployed' | 'unknown';
  /** The source of its last deployment: the package, else the git commit (12 characters), else `plan:` and its plan's checksum; null when never deployed. */
  release: string | null;
  pendingSteps: number;
  drift: TargetStatusJson['drift']['state'];
  /** The last deployment: id, kind and result (`succeeded`, `failed`, `rolled-back`...). */
  last: { id: number; kind: string; status: string } | null;
  error: { code: string; message: string } | null;
}

/** `status` on a fleet: the single-environment `status` of each selected target, then a summary by release. Reads only. */
export async function fleetStatus(
  ctx: OperationContext,
  options: StatusOptions,
  fleet: string,
  single: SingleOperation<StatusOptions>,
): Promise<ExitCodeValue> {
  const { mine, shard } = await selectTargets(ctx, fleet, { labels: options.labels, shard: options.shard });
  // The sources are parsed once for every target.
  const shared = { ...ctx, plans: new FleetPlans() };
  const outcome = await runWaves(
    mine,
    { canary: 0, concurrency: STATUS_PARALLEL, maxFailures: Number.MAX_SAFE_INTEGER },
    async (t): Promise<FleetTargetStatus> => {
      const out = new TextSink();
      const run = await runOnTarget(
        shared,
        t.name,
        fleetTargetName(fleet, t),
        single,
        { ...options, labels: undefined, shard: undefined, format: 'json' },
        { stdout: out, withReport: false },
      );
      return targetStatus(
        t.name,
        t.labels,
        run.exitCode === 0 ? (JSON.parse(out.text) as TargetStatusJson) : null,
        run.error,
      );
    },
    () => false,
  );
  const rows = outcome.targets.map((o) => o.result!);
  if (options.format === 'json')
    ctx.stdout.write(
      canonicalJson({ fleet, project: options.project, shard, targets: rows, summary: summarise(rows) }),
    );
  else printFleetStatus(ctx.stdout, fleet, options.project, rows);
  return rows.some((r) => r.state === 'unknown') ? ExitCode.invalid : ExitCode.ok;
}

function targetStatus(
  target: string,
  labels: Record<string, string>,
  r: TargetStatusJson | null,
  error: FleetTargetStatus['error'],
): FleetTargetStatus {
  if (!r) {
    const why = error ?? { code: 'STATUS_FAILED', message: 'status could not be read' };
    return {
      target,
      labels,
      state: 'unknown',
      release: null,
      pendingSteps: 0,
      drift: 'unknown',
      last: null,
      error: why,
    };
  }
  const d = r.lastDeployment;
  const release = d
    ? (d.package ?? (d.git_commit ? d.git_commit.slice(0, 12) : `plan:${d.plan_checksum.slice(0, 8)}`))
    : null;
  const state =
    r.drift.state === 'yes' ? 'drifted' : r.pendingSteps.length === 0 ? 'current' : d ? 'behind' : 'never deployed';
  const last = d ? { id: d.id, kind: d.kind, status: d.status } : null;
  return {
    target,
    labels,
    state,
    release,
    pendingSteps: r.pendingSteps.length,
    drift: r.drift.state,
    last,
    error: null,
  };
}

/** Targets counted by state and release: `current at 1a2b3c4d5e6f: 38`. */
function summarise(rows: readonly FleetTargetStatus[]): { state: string; release: string | null; targets: number }[] {
  const groups = new Map<string, { state: string; release: string | null; targets: number }>();
  for (const r of rows) {
    const key = `${r.state}\0${r.release}`;
    const g = groups.get(key) ?? { state: r.state, release: r.release, targets: 0 };
    g.targets++;
    groups.set(key, g);
  }
  return [...groups.values()].sort((a, b) => b.targets - a.targets);
}

function printFleetStatus(
  out: NodeJS.WritableStream,
  fleet: string,
  project: string,
  rows: readonly FleetTargetStatus[],
): void {
  out.write(`${project} on fleet ${fleet}: ${rows.length} target${rows.length === 1 ? '' : 's'}\n`);
  const width = Math.max(6, ...rows.map((r) => r.target.length));
  out.write(
    `  ${'target'.padEnd(width)}  ${'state'.padEnd(14)}  ${'release'.padEnd(12)}  ${'drift'.padEnd(7)}  last result\n`,
  );
  for (const r of rows) {
    const state = r.state === 'behind' ? `behind (${r.pendingSteps})` : r.state;
    const last = r.last
      ? `#${r.last.id} ${r.last.kind} ${r.last.status}`
      : r.error
        ? `error: ${r.error.message.split('\n')[0]}`
        : '-';
    out.write(
      `  ${r.target.padEnd(width)}  ${state.padEnd(14)}  ${(r.release ?? '-').padEnd(12)}  ${r.drift.padEnd(7)}  ${last}\n`,
    );
  }
  out.write('by release:\n');
  for (const g of summarise(rows)) out.write(`  ${g.state}${g.release ? ` at ${g.release}` : ''}: ${g.targets}\n`);
}

/** Collects what is written to it. */
class TextSink extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}
