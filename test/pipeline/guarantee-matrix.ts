import { expect } from 'vitest';
import { COMMAND_DEFINITIONS, COMMANDS, type CommandName } from '@dbee/core';
import { GUARANTEES, type Guarantee } from '../../packages/core/src/pipeline/guarantees';
import type { Strategy, StrategyTable } from '../../packages/core/src/operations/strategies/strategy';
import { type EngineName, promotionWorkspace } from '../promotion/helpers';
import { run } from '../support/run';
import { webhookSink } from './webhooks';

/**
 * The guarantee matrix (issue #55), as a function: each row (a command, or a phase of a strategy) is run against one
 * shared workspace in one pass (each row set up by the ones before it), and each guarantee of the pipeline
 * (`GUARANTEES`, pipeline/guarantees.ts) is a cell: the ticket, the maintenance window and protection refused in the
 * real run and the dry run (exit 1, nothing written to the ledger); a hand edit on the target before the command (a
 * view made in the project's schema outside dbee) refused in both runs, exit 1 with nothing written and the edit left
 * as it was (or, for a command that goes on, never recorded as dbee's: `status` still says drift; for a command whose
 * plan is made from the target as it is, put back visibly: `clone`); then the run itself: exit 0, a ledger row with its
 * ticket, step rows, notifications, no drift after.
 *
 * A strategy's rows come from the strategy itself (`strategyRows`): a phase's row is a change to the sources, the
 * phases it runs after (`StrategyPhase.after`), then the phase; its cells that do not apply say why
 * (`StrategyPhase.notApplicable`). A strategy of the table gets its cells with no line here.
 */
export type Cell = Guarantee;

export interface Row {
  /** The row's name: the command, with its variant. */
  name: string;
  command: CommandName;
  options: Record<string, unknown>;
  /** Brings the workspace to a state where the command has something to do (gates off). */
  setup?: (w: Workspace) => Promise<void>;
  /** False: not run here: the command needs a state this workspace does not make (see `StrategyPhase.ownStage`). */
  driven: boolean;
  /** Undoes a run that a gate cell let through (a gate that does not hold). */
  reset?: (w: Workspace) => Promise<void>;
  /**
   * What the command does with a hand edit on the target (issue 79): `refused` (the default: exit 1, nothing written),
   * `goes on` without recording it as dbee's (`status` still says drift after it), or `puts back`: its plan, made from
   * the target as it is, undoes the edit visibly (the dry run leaves it; the run removes it, `status` says no drift).
   */
  onHandEdit?: 'refused' | 'goes on' | 'puts back';
  /** Cells that do not apply to this command, each with why (printed, never counted as holding). */
  notApplicable?: Partial<Record<Cell, string>>;
}

export type Workspace = Awaited<ReturnType<typeof promotionWorkspace>> & {
  cli: (command: CommandName, options: Record<string, unknown>) => ReturnType<typeof run>;
};

const TICKET = 'CHG-7';

/** A weekday that is not today (UTC): a maintenance window on it is closed now. */
const closedDay = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][(new Date().getUTCDay() + 3) % 7];

const GATES = {
  none: '{}',
  ticket: '{ requireTicket: true }',
  window: `{ maintenanceWindows: [{ days: [${closedDay}], from: "00:00", to: "23:59" }] }`,
  protected: '{ protected: true }',
};

const takes = (command: CommandName, option: string) =>
  Object.hasOwn(COMMAND_DEFINITIONS[command].schema.shape, option);

/** The columns the strategies' rows have added to `a.t` so far: each row's change is one more. */
let added = 0;

/** A change to the sources that every strategy that deploys tables carries: one more column on `a.t`. */
function oneMoreColumn(w: Workspace): void {
  added += 1;
  const columns = Array.from({ length: added }, (_, i) => `, c${i + 1} int`).join('');
  w.w.write('a/t.sql', `CREATE SCHEMA a;\nCREATE TABLE a.t (id int PRIMARY KEY, b int${columns});`);
}

/**
 * The rows of the strategies of `strategies`, by command: `deploy --strategy <name>` for each strategy's `deploy`, and
 * one row per later phase under the command of its name (`complete`, `abort`). Each row's setup is a change to the
 * sources (but the first later phase's, which runs on what the `deploy` row left in flight), then the phases it runs
 * after; its cells that do not apply are the phase's `notApplicable`.
 */
export function strategyRows(strategies: StrategyTable): Partial<Record<CommandName, Row[]>> {
  const out: Partial<Record<CommandName, Row[]>> = {};
  for (const strategy of Object.values(strategies))
    for (const [index, [phase, { after, notApplicable, ownStage }]] of phasesOf(strategy).entries()) {
      // The strategy's first later phase runs on the work its `deploy` row left in flight (that row ran for real just
      // before it): a change to the sources now would be no part of it, and the phase's convergence check would find
      // the sources moved on since (said not compared). The phases after it start work of their own.
      const onDeployRow = index === 1 && after.length === 1 && after[0] === 'deploy';
      const command = phase as CommandName;
      if (!(COMMANDS as readonly string[]).includes(command))
        throw new Error(`${strategy.name}: phase ${phase} has no command to run it (options/commands.ts)`);
      const runPhase = (w: Workspace, name: string) =>
        w.cli(name === 'deploy' ? 'deploy' : (name as CommandName), {
          ...(name === 'deploy' ? { strategy: strategy.name } : {}),
          assumeYes: true,
        });
      out[command] = [
        ...(out[command] ?? []),
        {
          name: phase === 'deploy' ? `deploy --strategy ${strategy.name}` : `${phase} (${strategy.name})`,
          command,
          options: phase === 'deploy' ? { strategy: strategy.name } : {},
          // A phase this workspace cannot run (blue/green: an own cluster and a router) is listed, not counted.
          driven: ownStage === undefined,
          setup: async (w) => {
            if (!onDeployRow) oneMoreColumn(w);
            for (const before of after) {
              const r = await runPhase(w, before);
              expect(r.code, `${strategy.name}: ${before} before ${phase}: ${r.stderr}`).toBe(0);
            }
          },
          ...(notApplicable ? { notApplicable: { ...notApplicable } } : {}),
        },
      ];
    }
  return out;
}

function phasesOf(
  strategy: Strategy,
): [string, { after: readonly string[]; notApplicable?: Partial<Record<Cell, string>>; ownStage?: string }][] {
  return [['deploy', strategy.deploy], ...Object.entries(strategy.phases ?? {})];
}

/**
 * Where the matrix runs: a workspace with project `a` deployed to environment `e`, which `yaml` gates (`gates`, YAML of
 * a flow mapping) and whose notifications go to `notify`; `ledgers`, the environments whose ledgers a command may write
 * (`e` when not given): a refused command writes to none, and a run's ledger row is the first new one among them.
 */
export interface MatrixStage {
  base: Awaited<ReturnType<typeof promotionWorkspace>>;
  yaml: (gates: string, notify: string) => string;
  ledgers?: string[];
}

/** The shared stage: `e` gated, `s` the source a clone copies from (never gated), on `engine`. */
async function sharedStage(engine: EngineName): Promise<MatrixStage> {
  const base = await promotionWorkspace(engine, ['e', 's']);
  const target = engine === 'postgres' ? 'url' : 'embedded';
  return {
    base,
    yaml: (gates, notify) =>
      `version: 1\ndefaultEnvironment: e\nenvironments:\n  e:\n    engine: postgres\n    connection: { ${target}: "\${P_E}" }\n    gates: ${gates}\n  s:\n    engine: postgres\n    connection: { ${target}: "\${P_S}" }\nnotify:\n  - url: "${notify}"\n`,
  };
}

/**
 * Run `rows` (in order) on a fresh workspace of `engine` with its gates and notifications, with `strategies` as the
 * table `deploy` and the later phases choose from. Returns each cell's outcome (`row: cell` → holds), after printing
 * the matrix.
 */
export async function runMatrix(
  engine: EngineName,
  rows: readonly Row[],
  options: {
    strategies?: StrategyTable;
    knownGaps?: Record<string, string>;
    notDriven?: string[];
    /** Another stage than the shared workspace's (`promotionWorkspace` with `e` and `s`): see `MatrixStage`. */
    stage?: () => Promise<MatrixStage>;
  } = {},
): Promise<Map<string, boolean>> {
  const hooks = webhookSink<{ ticket: string | null }>();
  const { received } = hooks;
  await hooks.listen();
  added = 0;
  const stage = await (options.stage ?? (() => sharedStage(engine)))();
  const { base } = stage;
  try {
    const url = hooks.url();
    const setGates = (gates: string) => base.w.write('dbee.yaml', stage.yaml(gates, url));
    const w: Workspace = Object.assign(base, {
      cli: (command: CommandName, o: Record<string, unknown>) =>
        run(base.w.root, command, { project: 'a', ...o }, base.vars('e', 's'), options.strategies),
    });
    setGates(GATES.none);
    w.w.write('a/f.sql', "CREATE FUNCTION a.f() RETURNS int LANGUAGE sql AS 'SELECT 1';");
    expect((await w.cli('deploy', {})).code).toBe(0);
    const ledgers = stage.ledgers ?? ['e'];
    /** The newest deployment row of each ledger a command may write (0 where there is none yet). */
    const marks = async () =>
      Promise.all(
        ledgers.map(async (env) => {
          try {
            return (
              (await w.query<{ id: number | null }>(env, 'SELECT max(id)::int AS id FROM dbee.deployments'))[0]!.id ?? 0
            );
          } catch {
            return 0; // its database, or its ledger, is not made yet
          }
        }),
      );
    const lastId = async () => (await marks()).join(',');

    const outcomes = new Map<string, boolean>();
    const refused = async (row: Row, gates: string, extra: Record<string, unknown>, text: RegExp) => {
      setGates(gates);
      const before = await lastId();
      const r = await w.cli(row.command, { ...row.options, ...extra });
      setGates(GATES.none);
      // A gate that did not hold let the command run: put the state back for the next cell.
      if (r.code === 0 && !extra.dryRun) await row.reset?.(w);
      return r.code === 1 && text.test(r.stderr) && (await lastId()) === before;
    };
    /**
     * A view made by hand in the project's schema, then the command: refused with nothing written and the view left
     * (or, `goes on`, run without recording the view as dbee's: `status` says drift after it); the view dropped after.
     */
    const handEdited = async (row: Row, extra: Record<string, unknown>) => {
      if (row.notApplicable?.['hand edit']) return false;
      const before = await lastId();
      await w.query('e', 'CREATE VIEW a.hand AS SELECT 1 AS x');
      const r = await w.cli(row.command, { ...row.options, ...extra });
      const still = (await w.query('e', "SELECT 1 FROM pg_views WHERE schemaname = 'a' AND viewname = 'hand'")).length;
      const written = (await lastId()) !== before;
      const named = /outside dbee/.test(r.stderr);
      const goesOn = row.onHandEdit === 'goes on';
      const putsBack = row.onHandEdit === 'puts back';
      const status = goesOn || putsBack ? (await w.cli('status', {})).stdout : '';
      await w.query('e', 'DROP VIEW IF EXISTS a.hand');
      if (r.code === 0 && !extra.dryRun) await row.reset?.(w);
      if (goesOn)
        return r.code === 0 && named && still === 1 && status.includes('drift: yes') && written !== !!extra.dryRun;
      if (putsBack && extra.dryRun) return r.code === 0 && named && still === 1 && !written;
      if (putsBack) return r.code === 0 && named && still === 0 && written && status.includes('drift: no');
      return r.code === 1 && named && still === 1 && !written;
    };
    for (const row of rows.filter((r) => r.driven)) {
      const cell = (c: Cell, holds: boolean) => {
        if (!row.notApplicable?.[c]) outcomes.set(`${row.name}: ${c}`, holds);
      };
      await row.setup?.(w);
      const ticket = takes(row.command, 'ticket') ? { ticket: TICKET } : {};
      const dry = takes(row.command, 'dryRun');
      cell('ticket', await refused(row, GATES.ticket, { assumeYes: true }, /requires a change ticket/));
      cell('window', await refused(row, GATES.window, { assumeYes: true, ...ticket }, /maintenance window/));
      if (dry)
        cell(
          'window, dry run',
          await refused(row, GATES.window, { assumeYes: true, ...ticket, dryRun: true }, /maintenance window/),
        );
      cell('protected', await refused(row, GATES.protected, { ...ticket }, /is protected/));
      if (dry)
        cell('protected, dry run', await refused(row, GATES.protected, { ...ticket, dryRun: true }, /is protected/));
      cell('hand edit', await handEdited(row, { assumeYes: true, ...ticket }));
      if (dry) cell('hand edit, dry run', await handEdited(row, { assumeYes: true, ...ticket, dryRun: true }));
      received.length = 0;
      const before = await marks();
      const r = await w.cli(row.command, { ...row.options, assumeYes: true, ...ticket });
      cell('exit 0', r.code === 0);
      // Verified means converged (issue 88): the run said the objects it touched equal the sources.
      cell('converged', /converged: /.test(r.stdout + r.stderr));
      // The row the command wrote: in the first ledger of the stage's list that has a new one.
      const after = await marks();
      const at = after.findIndex((id, i) => id > before[i]!);
      const env = ledgers[Math.max(at, 0)]!;
      const id = after[Math.max(at, 0)]!;
      const [d] = await w.query<{ ticket: string | null }>(env, `SELECT ticket FROM dbee.deployments WHERE id = ${id}`);
      cell('ledger row with ticket', at >= 0 && d?.ticket === TICKET);
      const [steps] = await w.query<{ n: number }>(
        env,
        `SELECT count(*)::int AS n FROM dbee.steps WHERE deployment_id = ${id}`,
      );
      cell('step rows', at >= 0 && steps!.n > 0);
      cell('notifications', received.length >= 2);
      const project = row.options.project ? { project: row.options.project } : {};
      cell('no drift after', (await w.cli('status', project)).stdout.includes('drift: no'));
    }
    printMatrix(engine, rows, outcomes, options.knownGaps ?? {}, options.notDriven ?? []);
    return outcomes;
  } finally {
    await hooks.close();
    await base.cleanup();
  }
}

function printMatrix(
  engine: EngineName,
  rows: readonly Row[],
  outcomes: Map<string, boolean>,
  knownGaps: Record<string, string>,
  notDriven: string[],
): void {
  const failing = [...outcomes].filter(([, holds]) => !holds).map(([c]) => c);
  const gaps = Object.keys(knownGaps);
  const notApplicable = rows.flatMap((r) =>
    Object.entries(r.notApplicable ?? {}).map(([c, why]) => `  ${r.name}: ${c}: ${why}`),
  );
  process.stdout.write(
    `guarantee matrix [${engine}]: ${outcomes.size - failing.length}/${outcomes.size} cells hold${failing.length ? ` (failing: ${failing.join('; ')})` : ''}; known gaps:\n${gaps.map((g) => `  ${g}: ${knownGaps[g]}`).join('\n')}\n  run on their own stage: ${notDriven.join(', ') || 'none'}\nnot applicable:\n${notApplicable.join('\n')}\n`,
  );
}

/** Every cell of `GUARANTEES` each driven row of `rows` has, but those it says do not apply and the dry runs' where it takes none. */
export function cellsOf(row: Row): Cell[] {
  const dry = takes(row.command, 'dryRun');
  return GUARANTEES.filter((c) => !row.notApplicable?.[c] && (dry || !c.endsWith('dry run')));
}
