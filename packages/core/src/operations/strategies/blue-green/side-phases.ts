import type { OperationContext } from '../../../context/operation-context';
import { withSession } from '../../../runner/session';
import type { BlueGreenLedger, BlueGreenState } from '../../../blue-green/record';
import { refuseUncarried, uncarriedChanges } from '../../../blue-green/refusals';
import { dropReplication, type Replication } from '../../../blue-green/replication';
import type { Router } from '../../../blue-green/router';
import { refuseRowsLeft, rowsLeft } from '../../../blue-green/rows-left';
import {
  SWITCH_DEFAULTS,
  settleInterrupted,
  switchover,
  switchPhase,
  type SwitchBounds,
  type SwitchResult,
} from '../../../blue-green/switchover';
import { databaseExists } from './green';
import {
  type BlueGreenOptions,
  type BlueGreenTarget,
  type OpenSides,
  blueGreenTarget,
  ledgerOn,
  recorder,
  refuseState,
  session,
  tablesOf,
  withSides,
} from './sides';

/**
 * `switch` (from blue to green) and `fallback` (back to blue): the state checked (green made and in sync, the
 * application on `from`), green's live tables checked against blue's once more (the release deployed there may hold
 * what replication cannot carry), then `switchover` with its guard rails, each step in blue's ledger.
 */
export async function blueGreenSwitch(
  ctx: OperationContext,
  options: BlueGreenOptions & { router: Router; bounds?: Partial<SwitchBounds> },
  from: 'blue' | 'green',
  open: OpenSides = {},
): Promise<SwitchResult> {
  const t = await blueGreenTarget(ctx, options);
  const phase = switchPhase(from);
  return withSides(
    ctx,
    t,
    options,
    async (rep, ledger) => {
      let state = await ledger.state();
      if (state?.status === 'running' && (state.phase === 'switch' || state.phase === 'fallback') && !options.dryRun) {
        const was = state.phase === 'switch' ? 'blue' : 'green';
        const record = recorder(ledger, state.phase, options);
        const serving = await settleInterrupted({
          rep,
          router: options.router,
          from: was,
          record,
          lastStep: state.step,
        });
        if (state.phase === phase && serving !== from) return { to: serving, pausedMs: 0, steps: [], lagBytes: 0 };
        state = await ledger.state();
      }
      refuseState(state, phase, switchRefusal(state, from), t);
      const inspect = async () => {
        const blueModel = await t.diff.introspect(rep.blue.conn, { schemas: t.schemas });
        const greenModel = await t.diff.introspect(rep.green.conn, { schemas: t.schemas });
        const found = uncarriedChanges(t.role, blueModel, greenModel, t.schemas);
        refuseUncarried(found, t.project.name, `the ${phase} is refused`);
        return tablesOf(blueModel, t.schemas, { green: greenModel, role: t.role });
      };
      const result = await switchover({
        rep,
        router: options.router,
        from,
        inspect,
        schemas: t.schemas,
        bounds: { ...SWITCH_DEFAULTS, ...options.bounds },
        record: recorder(ledger, phase, options),
      });
      if (!options.dryRun) {
        ctx.reporter.info(
          `${phase} done: ${result.to} (${result.to === 'green' ? t.green.name : t.blue.name}) serves; writes paused ${result.pausedMs} ms`,
        );
      }
      return result;
    },
    open,
  );
}

/** Why a switchover from `from` cannot start in `state`, or null. */
export function switchRefusal(state: BlueGreenState | null, from: 'blue' | 'green'): string | null {
  if (!state?.inFlight) return 'no green is made (run the deploy phase first)';
  if (state.phase === 'deploy' && state.status !== 'done') return 'the deploy phase did not finish';
  if (state.release === 'running')
    return 'the release on green did not finish (refused before its plan, or its process ended): deploy it again first';
  if (state.release === 'failed') return 'the release on green failed or was refused: deploy it again first';
  if (state.phase === 'finish') return 'a finish phase did not finish: run it again';
  if (state.live !== from) return `${state.live} serves already`;
  return null;
}

/**
 * `finish`: replication dropped on both sides, then the side not serving dropped with its database: blue after a
 * switch (its ledger's blue/green rows copied to green's first), green when blue serves (the blue/green deployment
 * given up, or after a fallback); under `keep` (`gates.requireBackup`) that database is renamed aside as a backup
 * instead of dropped. Returns the side taken away and its backup. Its `end` is written last, by the side that stays, once the
 * other is dropped (blue's: after green's database is dropped; green's: before blue's, which holds no `end` of its own),
 * so that a process killed anywhere before leaves a finish still running on the side it reads: `finish` run again
 * ends it (green's database already dropped, it only writes the `end`).
 */
export async function blueGreenFinish(
  ctx: OperationContext,
  options: BlueGreenOptions & { keep?: { stamp: string } },
  open: OpenSides = {},
): Promise<FinishResult> {
  const t = await blueGreenTarget(ctx, options);
  const onBlue = <R>(use: (ledger: BlueGreenLedger) => Promise<R>) =>
    open.blue
      ? use(ledgerOn(t, open.blue))
      : withSession(session(ctx, t, t.blue), ({ conn }) => use(ledgerOn(t, conn)));
  const end = { phase: 'finish' as const, step: 'end', status: 'done' as const, ticket: options.ticket ?? null };
  // A finish killed after it dropped green's database: blue still serves, the `end` is all that is left.
  if (!options.dryRun && !(await databaseExists(ctx, t))) {
    const state = await onBlue((ledger) => ledger.state());
    if (state?.inFlight && state.phase === 'finish' && state.live === 'blue') {
      await onBlue((ledger) => ledger.record({ ...end, live: 'blue', detail: { dropped: 'green' } }));
      ctx.reporter.info(`finish done: green (${t.green.name}) dropped; blue (${t.blue.name}) serves`);
      return { dropped: 'green', backup: null };
    }
  }
  const old = await withSides(ctx, t, options, (rep, ledger) => finishSides(ctx, t, options, rep, ledger), open);
  const environment = old === 'blue' ? t.blue : t.green;
  if (options.dryRun) return { dropped: old, backup: null };
  const root = { workspaceRoot: ctx.workspace.root };
  const backup = options.keep ? await t.role.keepDatabase(environment, options.keep.stamp, root) : null;
  if (!options.keep) await t.role.dropDatabase(environment, root);
  if (old === 'green') await onBlue((ledger) => ledger.record({ ...end, live: 'blue', detail: { dropped: 'green' } }));
  const gone = backup ? `kept as the backup ${backup}` : 'dropped';
  ctx.reporter.info(
    `finish done: ${old === 'blue' ? `blue (${t.blue.name}) ${gone}; green (${t.green.name}) serves` : `green (${t.green.name}) ${gone}; blue (${t.blue.name}) serves`}`,
  );
  return { dropped: old, backup };
}

/** What `finish` did: the side it took away, and the name its database is kept under (`gates.requireBackup`) or null. */
export interface FinishResult {
  dropped: 'blue' | 'green';
  backup: string | null;
}

/**
 * `finish` with both sides open: the state checked, replication dropped; when blue goes, the record copied to green and
 * ended there. Returns the side to drop.
 */
async function finishSides(
  ctx: OperationContext,
  t: BlueGreenTarget,
  options: BlueGreenOptions & { keep?: { stamp: string } },
  rep: Replication,
  ledger: BlueGreenLedger,
): Promise<'blue' | 'green'> {
  const state = await ledger.state();
  refuseState(
    state,
    'finish',
    state?.inFlight
      ? state.status === 'running' && state.phase !== 'finish'
        ? `the ${state.phase} phase did not finish: run it again first`
        : null
      : 'no green is made',
    t,
  );
  const live = state!.live;
  const dropped = live === 'green' ? 'blue' : 'green';
  // Rows a client wrote to the side dropped, bypassing the router, after it stopped serving: refused before anything.
  const blueTables = tablesOf(await t.diff.introspect(rep.blue.conn, { schemas: t.schemas }), t.schemas);
  const found = await rowsLeft(
    rep,
    await ledger.steps(),
    dropped,
    t.schemas,
    blueTables.map((x) => `${x.schema}.${x.name}`),
  );
  refuseRowsLeft(found, dropped, ` ${t.project.name} --env ${t.blue.name}`, options.force ?? false, (line) =>
    ctx.reporter.warn(line),
  );
  if (options.dryRun)
    ctx.reporter.info(
      `finish: ${live} serves; drop replication, then ${dropped}'s database (${dropped === 'blue' ? t.blue.name : t.green.name})${options.keep ? ', kept as a backup (gates.requireBackup): renamed aside' : ''}`,
    );
  const record = recorder(ledger, 'finish', options);
  await record({ step: 'begin', status: 'started', live });
  await dropReplication(rep, { blue: true, green: true });
  await record({ step: 'replication', status: 'done', live });
  if (dropped === 'blue' && !options.dryRun) {
    await ledger.copyTo(rep.green.conn);
    await ledgerOn(t, rep.green.conn).record({
      phase: 'finish',
      step: 'end',
      status: 'done',
      live,
      detail: { dropped },
      ticket: options.ticket ?? null,
    });
  }
  return dropped;
}
