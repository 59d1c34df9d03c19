import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Connection, QueryResult, StatementDescription } from '@dbee/core';
import { mapPostgresError } from './postgres-errors';
import { runInTransaction, toNotice, type DatabaseNotice } from './postgres-connection';
import { writeTemplateFolder } from './template-folder';

/**
 * PGlite's own start parameters, with 16 MB of shared buffers instead of PostgreSQL's 128 MB. PGlite is one
 * process whose shared memory is WebAssembly memory it fills at every start: with 16 MB an in-memory start from the
 * template takes about two thirds of the time and each instance holds ~135 MB instead of ~250 MB (`npm run
 * bench:pglite`, README Diffs). Pages beyond the buffers are read from PGlite's file system, which is memory for
 * shadows and the OS page cache for data folders; a shadow's schema fits many times over.
 *
 * And no startup progress timer (`log_startup_progress_interval`, 10 s): a start from the template replays WAL, which
 * arms it, and PGlite makes it a Node timer that stays armed while the database is open, so an open instance kept
 * a process alive (a CLI that kept its shadow for reuse, embedded-shadow.ts, exited 30 s late).
 */
export const PGLITE_START_PARAMS = [
  ...PGlite.defaultStartParams,
  '-c',
  'shared_buffers=16MB',
  '-c',
  'log_startup_progress_interval=0',
];

/**
 * Embedded PostgreSQL (PGlite) with dbee's Connection shape. The data directory may be opened by one process
 * at a time; the embedded lock (see postgres-lock.ts) guarantees that for deployments.
 */
export class PgliteConnection implements Connection {
  readonly inProcess = true;
  private readonly noticeListeners = new Set<(notice: DatabaseNotice) => void>();
  // PGlite reports notices per call, not per session: pass a callback to every call while someone listens.
  private readonly options = {
    onNotice: (n: { severity?: string; code?: string; message?: string }) => {
      const notice = toNotice(n);
      for (const listener of this.noticeListeners) listener(notice);
    },
  };

  private constructor(
    private readonly db: PGlite,
    readonly description: string,
  ) {}

  /**
   * `dataDir` is an absolute folder, or `null` for an in-memory database. `template`: a data folder dump (see
   * pglite-template.ts) to start from instead of running initdb.
   */
  static async open(dataDir: string | null, description: string, template?: Blob): Promise<PgliteConnection> {
    if (dataDir) mkdirSync(dirname(dataDir), { recursive: true });
    try {
      // A new folder from the template: written by Node rather than through PGlite's file system (template-folder.ts).
      const written =
        !!dataDir &&
        !!template &&
        !existsSync(join(dataDir, 'PG_VERSION')) &&
        writeTemplateFolder(dataDir, new Uint8Array(await template.arrayBuffer()));
      // One options object: PGlite reads its second argument only when the first is a folder, so
      // `new PGlite(undefined, { loadDataDir })` silently ran initdb (about 1 s) instead of loading the template.
      const db = new PGlite({
        dataDir: dataDir ?? undefined,
        loadDataDir: written ? undefined : template,
        startParams: PGLITE_START_PARAMS,
      });
      await db.waitReady;
      return new PgliteConnection(db, description);
    } catch (e) {
      throw mapPostgresError(e, { target: description });
    }
  }

  async query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<Row>> {
    try {
      const r = await this.db.query<Row>(sql, params, this.noticeListeners.size ? this.options : undefined);
      return {
        rows: r.rows,
        rowCount: r.affectedRows,
        fields: r.fields.map((f) => ({ name: f.name, typeId: f.dataTypeID })),
      };
    } catch (e) {
      throw mapPostgresError(e, { statement: sql, target: this.description });
    }
  }

  /** PGlite's own Parse and Describe of `sql` (`describeQuery`): the result columns, or the server's error. */
  async describe(sql: string): Promise<StatementDescription> {
    try {
      const d = await this.db.describeQuery(sql);
      return { ok: true, columns: d.resultFields.map((f) => ({ name: f.name, typeId: f.dataTypeID })) };
    } catch (e) {
      const err = e as { message?: string; code?: string };
      return { ok: false, message: String(err.message ?? e).split('\n')[0]!, code: err.code };
    }
  }

  async execute(sql: string): Promise<void> {
    try {
      await this.db.exec(sql, this.noticeListeners.size ? this.options : undefined);
    } catch (e) {
      throw mapPostgresError(e, { statement: sql, target: this.description });
    }
  }

  transaction<T>(fn: (tx: Connection) => Promise<T>): Promise<T> {
    return runInTransaction(this, fn);
  }

  /** Whether a transaction is open (or failed and not yet rolled back). A ROLLBACK outside one breaks PGlite's backend. */
  inTransaction(): boolean {
    return this.db.isInTransaction();
  }

  async close(): Promise<void> {
    if (!this.db.closed) await this.db.close();
  }

  onNotice(listener: (notice: DatabaseNotice) => void): () => void {
    this.noticeListeners.add(listener);
    return () => this.noticeListeners.delete(listener);
  }
}
