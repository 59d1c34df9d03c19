import { randomUUID } from 'node:crypto';
import pg from 'pg';

/** One write that succeeded: its token (unique per write), the key the database gave it, when it returned. */
export interface Written {
  token: string;
  id: number;
  at: number;
}

/** One write that failed, when and why. */
export interface WriteError {
  at: number;
  message: string;
}

/**
 * An application writing at a steady rate through a connection pooler: `clients` sessions, each inserting one row
 * (`INSERT INTO <table> (token) VALUES ($1) RETURNING id`, a fresh UUID as token) on a fixed schedule that together
 * makes `rate` writes a second. A write held by a pause completes late; the ones scheduled meanwhile follow at once
 * (what an application's queue does). Every outcome is kept with its time, to count what was lost and how long the
 * writes stopped.
 */
export class Writers {
  readonly written: Written[] = [];
  readonly errors: WriteError[] = [];
  private pool: pg.Pool;
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    url: string,
    private readonly table: string,
    private readonly rate: number,
    private readonly clients = 8,
  ) {
    this.pool = new pg.Pool({ connectionString: url, max: clients });
    this.pool.on('error', () => {});
  }

  start(): void {
    this.running = true;
    const every = (1000 * this.clients) / this.rate;
    const t0 = Date.now();
    for (let c = 0; c < this.clients; c++) {
      this.loops.push(
        (async () => {
          for (let i = 0; this.running; i++) {
            const due = t0 + (c * every) / this.clients + i * every;
            const wait = due - Date.now();
            if (wait > 0) await new Promise((r) => setTimeout(r, wait));
            if (!this.running) break;
            await this.writeOne();
          }
        })(),
      );
    }
  }

  private async writeOne(): Promise<void> {
    const token = randomUUID();
    try {
      const r = await this.pool.query<{ id: string }>(`INSERT INTO ${this.table} (token) VALUES ($1) RETURNING id`, [
        token,
      ]);
      this.written.push({ token, id: Number(r.rows[0]!.id), at: Date.now() });
    } catch (e) {
      this.errors.push({ at: Date.now(), message: (e as Error).message });
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    await this.pool.end();
  }

  /** The longest time between two successive successful writes that ended within `[from, to]` (ms). */
  longestGap(from = 0, to = Number.POSITIVE_INFINITY): number {
    const times = this.written
      .map((w) => w.at)
      .filter((t) => t >= from && t <= to)
      .sort((a, b) => a - b);
    let gap = 0;
    for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
    return gap;
  }

  /** Writes that succeeded between `from` and `to`. */
  count(from = 0, to = Number.POSITIVE_INFINITY): number {
    return this.written.filter((w) => w.at >= from && w.at <= to).length;
  }
}
