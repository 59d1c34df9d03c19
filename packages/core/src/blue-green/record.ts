import type { BlueGreenRole, BlueGreenSide } from '../engine/blue-green-role';
import type { Connection, LedgerDialect } from '../engine/engine';

/** The commands of a blue/green deployment, each recorded as a phase. */
export type BlueGreenPhase = 'deploy' | 'switch' | 'fallback' | 'finish';

/** How a step ended: `started` (written before it runs), `done`, `failed`, or `undone` (put back after a failure). */
export type BlueGreenStatus = 'started' | 'done' | 'failed' | 'undone';

/**
 * One row of the ledger table `blue_green` (in blue's ledger; copied to green's when `finish` drops blue). A phase
 * writes `begin` (started), a row per step as it ends, and `end` (done, failed or undone), so that a reader can tell a
 * phase still running, or one whose process died (a `begin` without an `end`).
 */
export interface BlueGreenStep {
  id: number;
  project: string;
  /** Blue's environment. */
  environment: string;
  /** Green's environment. */
  green: string;
  phase: BlueGreenPhase;
  /** `begin`, `end`, or the step's name (`guard`, `pause`, `drain`, `sequences`, `route`, `resume`...). */
  step: string;
  status: BlueGreenStatus;
  /** The side serving the application once this step is over. */
  live: BlueGreenSide;
  /** ISO time the row was written. */
  at: string;
  durationMs: number | null;
  /** What the step found or did (lag in bytes, rows copied, an error's message...). */
  detail: Record<string, unknown> | null;
  ticket: string | null;
}

/** What a row is written from (the store fills in the rest). */
export type StepInput = Pick<BlueGreenStep, 'phase' | 'step' | 'status' | 'live'> &
  Partial<Pick<BlueGreenStep, 'durationMs' | 'detail' | 'ticket'>>;

/**
 * Where a project's blue/green deployment stands, from its rows since its last `deploy` began: what `status`, `diff`
 * and every phase read before they act. `inFlight` until a `finish` ends done.
 */
export interface BlueGreenState {
  project: string;
  environment: string;
  green: string;
  /** The side serving the application. */
  live: BlueGreenSide;
  /** The latest phase, and how it stands: `running` when its `end` is not written (running now, or killed). */
  phase: BlueGreenPhase;
  status: BlueGreenStatus | 'running';
  /** The latest step written, e.g. `route`. */
  step: string;
  /** When the deployment's `deploy` began, and when its latest row was written (ISO). */
  since: string;
  at: string;
  inFlight: boolean;
  /**
   * The release on green since the latest phase began (its rows `release`: after the deploy phase, or after a
   * fallback): `running` when its process ended before its outcome (killed), `failed`, `done`; null when none.
   */
  release: 'running' | 'done' | 'failed' | null;
}

interface Row {
  id: number | string;
  project: string;
  environment: string;
  green: string;
  phase: BlueGreenPhase;
  step: string;
  status: BlueGreenStatus;
  live: BlueGreenSide;
  at: Date | string;
  duration_ms: number | string | null;
  detail: Record<string, unknown> | string | null;
  ticket: string | null;
}

const COLUMNS = [
  'project',
  'environment',
  'green',
  'phase',
  'step',
  'status',
  'live',
  'duration_ms',
  'detail',
  'ticket',
];

/**
 * The ledger table `blue_green` of one project's blue/green deployment from `environment` to `green`: made on the first
 * row (the engine's DDL, `BlueGreenRole.ledgerTable`), read as steps or as the state.
 */
export class BlueGreenLedger {
  constructor(
    private readonly conn: Connection,
    private readonly dialect: LedgerDialect,
    private readonly role: BlueGreenRole,
    readonly project: string,
    readonly environment: string,
    readonly green: string,
  ) {}

  private get table(): string {
    return `${this.dialect.schema}.blue_green`;
  }

  /** Whether the table exists (reads never make it). */
  async exists(conn: Connection = this.conn): Promise<boolean> {
    return this.role.ledgerTableExists(conn, this.dialect.schema);
  }

  /** Write one step's row (the table made first when missing). */
  async record(step: StepInput): Promise<void> {
    const values = [
      this.project,
      this.environment,
      this.green,
      step.phase,
      step.step,
      step.status,
      step.live,
      step.durationMs === undefined || step.durationMs === null ? null : Math.round(step.durationMs),
      step.detail === undefined ? null : JSON.stringify(step.detail),
      step.ticket ?? null,
    ];
    if (!(await this.exists())) for (const s of this.role.ledgerTable(this.dialect.schema)) await this.conn.execute(s);
    await this.conn.query(
      `INSERT INTO ${this.table} (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => this.dialect.param(i + 1)).join(', ')})`,
      values,
    );
  }

  /**
   * Where the latest blue/green deployment of each of `projects` stands on this database (a project without a record
   * has none): one read for them all, as an Nx batch asks for every project of the workspace.
   */
  async statesOf(projects: readonly string[]): Promise<Map<string, BlueGreenState>> {
    const states = new Map<string, BlueGreenState>();
    if (projects.length === 0 || !(await this.exists())) return states;
    const r = await this.conn.query<Row>(
      `SELECT * FROM ${this.table} WHERE project IN (${projects.map((_, i) => this.dialect.param(i + 1)).join(', ')}) ORDER BY id`,
      [...projects],
    );
    const steps = new Map<string, BlueGreenStep[]>();
    for (const step of r.rows.map(stepOf)) steps.set(step.project, [...(steps.get(step.project) ?? []), step]);
    for (const [project, own] of steps) {
      const state = stateOf(own);
      if (state) states.set(project, state);
    }
    return states;
  }

  /** The project's rows, oldest first (all of them: one deployment writes a few dozen). */
  async steps(conn: Connection = this.conn): Promise<BlueGreenStep[]> {
    if (!(await this.exists(conn))) return [];
    const r = await conn.query<Row>(
      `SELECT * FROM ${this.table} WHERE project = ${this.dialect.param(1)} ORDER BY id`,
      [this.project],
    );
    return r.rows.map(stepOf);
  }

  /** Where the project's latest blue/green deployment stands, or null when it never had one. */
  async state(): Promise<BlueGreenState | null> {
    return stateOf(await this.steps());
  }

  /**
   * Copy the project's rows into `other`'s ledger (green's, before `finish` drops blue): the record outlives the
   * database it was kept in. Rows already there (a `finish` run again) are not copied twice.
   */
  async copyTo(other: Connection): Promise<void> {
    const there = new Set((await this.steps(other)).map((s) => `${s.phase}\0${s.step}\0${s.at}`));
    const rows = (await this.steps()).filter((s) => !there.has(`${s.phase}\0${s.step}\0${s.at}`));
    if (!rows.length) return;
    if (!(await this.exists(other))) for (const s of this.role.ledgerTable(this.dialect.schema)) await other.execute(s);
    const columns = [...COLUMNS, 'at'];
    for (const s of rows) {
      await other.query(
        `INSERT INTO ${this.table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => this.dialect.param(i + 1)).join(', ')})`,
        [
          s.project,
          s.environment,
          s.green,
          s.phase,
          s.step,
          s.status,
          s.live,
          s.durationMs,
          s.detail === null ? null : JSON.stringify(s.detail),
          s.ticket,
          s.at,
        ],
      );
    }
  }
}

function stepOf(r: Row): BlueGreenStep {
  return {
    id: Number(r.id),
    project: r.project,
    environment: r.environment,
    green: r.green,
    phase: r.phase,
    step: r.step,
    status: r.status,
    live: r.live,
    at: new Date(r.at).toISOString(),
    durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
    detail: typeof r.detail === 'string' ? (JSON.parse(r.detail) as Record<string, unknown>) : r.detail,
    ticket: r.ticket,
  };
}

/** The state from a project's rows, oldest first (see `BlueGreenState`); null when it has none. */
export function stateOf(steps: readonly BlueGreenStep[]): BlueGreenState | null {
  const last = steps[steps.length - 1];
  if (!last) return null;
  let begin = steps.length - 1;
  while (begin > 0 && !(steps[begin]!.phase === 'deploy' && steps[begin]!.step === 'begin')) begin--;
  const phaseBegin = steps.findLastIndex((s) => s.step === 'begin');
  const end = steps.slice(phaseBegin).find((s) => s.step === 'end');
  const status = end ? end.status : 'running';
  const phase = steps[phaseBegin]?.phase ?? last.phase;
  // A release is deployed to green while blue serves: after the deploy phase, or again after a fallback.
  const release = steps.slice(phaseBegin).findLast((s) => s.step === 'release');
  return {
    project: last.project,
    environment: last.environment,
    green: last.green,
    live: last.live,
    phase,
    status,
    step: last.step,
    since: steps[begin]!.at,
    at: last.at,
    inFlight: !(last.phase === 'finish' && status === 'done'),
    release: !release ? null : release.status === 'started' ? 'running' : release.status === 'done' ? 'done' : 'failed',
  };
}

/** The steps of a switchover inside the pause (`switchover.ts`): a process killed after `pause` and before `resume`. */
const PAUSED_STEPS = new Set(['pause', 'drain', 'sequences', 'stop', 'slot', 'subscribe', 'route']);

/** Whether `s` is a switchover whose process ended inside its pause: the router may still hold the writes. */
export function pausedByKill(s: BlueGreenState): boolean {
  return s.status === 'running' && (s.phase === 'switch' || s.phase === 'fallback') && PAUSED_STEPS.has(s.step);
}

/**
 * Whether the release on green is missing: begun by the deploy phase (its row is written before the release's plan)
 * and refused, failed or not finished. Green made without a release (`makeGreen` alone) has none to miss.
 */
export function releaseMissing(s: BlueGreenState): boolean {
  return s.release === 'running' || s.release === 'failed';
}

/** One line for a terminal: `blue/green of sales: green (test-green) serves since switch ...; next: dbee finish`. */
export function formatState(s: BlueGreenState): string {
  const serving = s.live === 'green' ? `green (${s.green}) serves` : `blue (${s.environment}) serves`;
  const how =
    s.status === 'running'
      ? pausedByKill(s)
        ? `${s.phase} did not finish (its process ended at step ${s.step}, inside the pause): the application's writes may still be paused on the router; run the ${s.phase} again to settle it (it resumes them)`
        : `${s.phase} did not finish (at step ${s.step}): run it again`
      : s.status !== 'done'
        ? `${s.phase} ${s.status} at step ${s.step}`
        : s.release === 'running'
          ? `${s.phase} done, but the release on green did not finish (refused before its plan, or its process ended): deploy it again`
          : s.release === 'failed'
            ? `${s.phase} done, but the release on green failed or was refused: deploy it again`
            : `${s.phase} done`;
  return `blue/green of ${s.project}: ${serving}; ${how} (${s.at})`;
}
