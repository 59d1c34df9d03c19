import type { Connection, ExpandPlan, LedgerDialect } from '../engine/engine';
import type { LedgerWriter } from './ledger-writer';

/**
 * The phases of an expand/contract release, in the ledger table `expand_releases`:
 * `expanding → backfilling → expanded → contracting → done`, or from any phase before `done`: `aborting → aborted`.
 */
export type ExpandPhase = 'expanding' | 'backfilling' | 'expanded' | 'contracting' | 'done' | 'aborting' | 'aborted';

/** Phases of a release still in flight (one per project at a time). */
export const IN_FLIGHT: readonly ExpandPhase[] = ['expanding', 'backfilling', 'expanded', 'contracting', 'aborting'];

/** One release in the ledger. */
export interface ExpandRelease {
  id: number;
  project: string;
  environment: string;
  release: string;
  previous: string;
  phase: ExpandPhase;
  plan: ExpandPlan;
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
  /** Statements of the strategy that waited for a lock and were retried (each attempt that timed out). */
  lockRetries: number;
}

interface Row {
  id: number | string;
  project: string;
  environment: string;
  release: string;
  previous: string;
  phase: ExpandPhase;
  plan: ExpandPlan | string;
  started_at: Date | string;
  updated_at: Date | string;
  finished_at: Date | string | null;
  lock_retries: number | string;
}

const iso = (t: Date | string) => new Date(t).toISOString();

/** Reads and writes `expand_releases` (the caller holds the deployment lock). */
export class ReleaseStore {
  constructor(
    /** The writer every store of the ledger shares (connection, dialect, request batching), by reference. */
    readonly writer: LedgerWriter,
  ) {}

  private get conn(): Connection {
    return this.writer.conn;
  }

  private get dialect(): LedgerDialect {
    return this.writer.dialect;
  }

  private get table(): string {
    return `${this.dialect.schema}.expand_releases`;
  }

  private p(n: number): string {
    return this.dialect.param(n);
  }

  private row(r: Row): ExpandRelease {
    return {
      id: Number(r.id),
      project: r.project,
      environment: r.environment,
      release: r.release,
      previous: r.previous,
      phase: r.phase,
      plan: typeof r.plan === 'string' ? (JSON.parse(r.plan) as ExpandPlan) : r.plan,
      startedAt: iso(r.started_at),
      updatedAt: iso(r.updated_at),
      finishedAt: r.finished_at === null ? null : iso(r.finished_at),
      lockRetries: Number(r.lock_retries),
    };
  }

  /**
   * Whether the table exists (a ledger older than the strategy has none; reads never create it): the writer's
   * knowledge of the ledger's feature tables (`LedgerDialect.lazyTables`), read with the ledger's version.
   */
  exists(): Promise<boolean> {
    return this.writer.hasTable('expand_releases');
  }

  /** The project's release in flight, or null. */
  async inFlight(project: string): Promise<ExpandRelease | null> {
    if (!(await this.exists())) return null;
    const r = await this.conn.query<Row>(
      `SELECT * FROM ${this.table} WHERE project = ${this.p(1)} AND phase IN (${IN_FLIGHT.map((_, i) => this.p(i + 2)).join(', ')}) ORDER BY id DESC LIMIT 1`,
      [project, ...IN_FLIGHT],
    );
    return r.rows[0] ? this.row(r.rows[0]) : null;
  }

  /** The first release in flight of any of `projects`, or null (one query). */
  async inFlightOf(projects: readonly string[]): Promise<ExpandRelease | null> {
    if (projects.length === 0 || !(await this.exists())) return null;
    const r = await this.conn.query<Row>(
      `SELECT * FROM ${this.table} WHERE project IN (${projects.map((_, i) => this.p(i + 1)).join(', ')}) AND phase NOT IN ('done', 'aborted') ORDER BY id LIMIT 1`,
      [...projects],
    );
    return r.rows[0] ? this.row(r.rows[0]) : null;
  }

  /** The project's releases, newest first. */
  async releases(project: string): Promise<ExpandRelease[]> {
    if (!(await this.exists())) return [];
    const r = await this.conn.query<Row>(`SELECT * FROM ${this.table} WHERE project = ${this.p(1)} ORDER BY id DESC`, [
      project,
    ]);
    return r.rows.map((x) => this.row(x));
  }

  /** The project's newest release, or null. */
  async latest(project: string): Promise<ExpandRelease | null> {
    return this.newest(project, null);
  }

  /** The last release that reached `done`: its label is the shape the tables have now. */
  async lastDone(project: string): Promise<ExpandRelease | null> {
    return this.newest(project, 'done');
  }

  /** The newest release of the project, in `phase` when given (one row read). */
  private async newest(project: string, phase: ExpandPhase | null): Promise<ExpandRelease | null> {
    if (!(await this.exists())) return null;
    const r = await this.conn.query<Row>(
      `SELECT * FROM ${this.table} WHERE project = ${this.p(1)}${phase ? ` AND phase = ${this.p(2)}` : ''} ORDER BY id DESC LIMIT 1`,
      phase ? [project, phase] : [project],
    );
    return r.rows[0] ? this.row(r.rows[0]) : null;
  }

  /**
   * Open a release in phase `expanding` (the unique index refuses a second one in flight). The ledger's first release
   * creates its `expand_releases` table (a new ledger has none: `LedgerDialect.lazyTables`).
   */
  async start(plan: ExpandPlan, environment: string): Promise<ExpandRelease> {
    const returning = this.dialect.returning ? ' RETURNING *' : '';
    const insert = async (c: Connection) =>
      c.query<Row>(
        `INSERT INTO ${this.table} (project, environment, release, previous, phase, plan) VALUES (${this.p(1)}, ${this.p(2)}, ${this.p(3)}, ${this.p(4)}, 'expanding', ${this.p(5)})${returning}`,
        [plan.project, environment, plan.release, plan.previous, JSON.stringify(plan)],
      );
    // The table and its first row commit together.
    const r = (await this.writer.hasTable('expand_releases'))
      ? await insert(this.conn)
      : await this.conn.transaction(async (tx) => {
          await this.writer.ensureTable('expand_releases', tx);
          return insert(tx);
        });
    const row = r.rows[0] ? this.row(r.rows[0]) : await this.newest(plan.project, 'expanding');
    return row!;
  }

  async setPhase(id: number, phase: ExpandPhase, error: string | null = null): Promise<void> {
    const final = phase === 'done' || phase === 'aborted';
    await this.conn.query(
      `UPDATE ${this.table} SET phase = ${this.p(2)}, updated_at = ${this.dialect.now}, error = ${this.p(3)}${final ? `, finished_at = ${this.dialect.now}` : ''} WHERE id = ${this.p(1)}`,
      [id, phase, error],
    );
  }

  /**
   * Count a lock timeout of one of the strategy's statements (each attempt that waited and was retried): when that
   * attempt started (`at`, the client's clock) and how long it waited (`waitedMs`).
   */
  async countLockRetry(
    id: number,
    wait: { statement: string; error: string; at: Date; waitedMs: number },
  ): Promise<void> {
    const attempt = JSON.stringify({
      at: wait.at.toISOString(),
      waitedMs: Math.round(wait.waitedMs),
      statement: wait.statement.slice(0, 500),
      error: wait.error,
    });
    const append = this.dialect.appendJson;
    if (append) {
      await this.conn.query(
        `UPDATE ${this.table} SET lock_retries = lock_retries + 1, lock_attempts = ${append('lock_attempts', this.p(2))} WHERE id = ${this.p(1)}`,
        [id, attempt],
      );
      return;
    }
    const r = await this.conn.query<{ a: unknown }>(
      `SELECT lock_attempts AS a FROM ${this.table} WHERE id = ${this.p(1)}`,
      [id],
    );
    const before = r.rows[0]?.a;
    const list = (typeof before === 'string' ? JSON.parse(before) : (before ?? [])) as unknown[];
    await this.conn.query(
      `UPDATE ${this.table} SET lock_retries = lock_retries + 1, lock_attempts = ${this.p(2)} WHERE id = ${this.p(1)}`,
      [id, JSON.stringify([...list, JSON.parse(attempt)])],
    );
  }
}
