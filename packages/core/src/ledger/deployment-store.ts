import { rawConnection } from '../engine/session-pool';
import type { Connection } from '../engine/engine';
import { createdEmpty, missing, openDeployments, type OpenDeployment } from './memory';
import {
  deploymentSummary,
  type LedgerWrite,
  type DeploymentInfo,
  type DeploymentStatus,
  type DeploymentRow,
  type DeploymentSummary,
  type LedgerState,
} from './types';
import type { LedgerWriter } from './ledger-writer';
import type { ObjectStore } from './object-store';

/** The rows of `deployments`: opening and closing one, its summary, and the history `status` and `log` read. */
export class DeploymentStore {
  constructor(
    /** The writer every store of the ledger shares (connection, dialect, request batching), by reference. */
    readonly writer: LedgerWriter,
    /** The project states a deployment keeps (`ledger_before`) and folds when it is interrupted. */
    private readonly objects: ObjectStore,
  ) {}

  /** A deployment's key in `openDeployments`. */
  protected summaryKey(id: number): string {
    return `${this.writer.versionTable}\0${id}`;
  }

  /** The summary of deployment `id` as it is now: known when this connection opened it and it runs, else read. */
  protected async summaryNow(id: number, conn: Connection = this.writer.conn): Promise<DeploymentSummary> {
    const known = this.open(id);
    if (known) return known.summary;
    const r = await conn.query<{ summary: DeploymentRow['summary'] }>(
      `SELECT ${this.writer.q('summary')} FROM ${this.writer.t('deployments')} WHERE ${this.writer.q('id')} = ${this.writer.p(1)}`,
      [id],
    );
    return this.writer.json<DeploymentSummary>(r.rows[0]?.summary ?? null) ?? {};
  }

  /**
   * Open a deployment row (`running`). It keeps the project's whole ledger state as it was at the start
   * (`ledger_before`): undoing the whole deployment later puts exactly that back, including object states a
   * deployment sets without a step of their own (a diff-based deployment syncs them at the end). The id is the
   * next free one (the caller holds the deployment lock, as every writer of the ledger does): taken by the INSERT
   * itself where the dialect returns it (`LedgerDialect.returning`: one request, with the session's commit mode), else
   * read first.
   */
  async startDeployment(info: DeploymentInfo): Promise<number> {
    const before = info.before === undefined ? await this.objects.state(info.project) : info.before;
    const empty = createdEmpty.get(rawConnection(this.writer.conn))?.delete(this.writer.versionTable) ?? false;
    const open = openDeployments.get(rawConnection(this.writer.conn)) ?? new Map<string, OpenDeployment>();
    openDeployments.set(rawConnection(this.writer.conn), open);
    // The ticket column (ledger version 3) is written only when there is a ticket: a row without one reads as null.
    const ticket = info.ticket ? [this.writer.q('ticket')] : [];
    const columns = [
      this.writer.cols(
        'id',
        'project',
        'environment',
        'kind',
        'plan_checksum',
        'package',
        'git_commit',
        'tool_version',
      ),
      this.writer.cols('os_user', 'ci_job', 'host', 'status', 'steps_total', 'reverts', 'ledger_before'),
      ...ticket,
    ].join(', ');
    const values = [
      info.project,
      info.environment,
      info.kind,
      info.planChecksum,
      info.package,
      info.gitCommit,
      info.toolVersion,
      info.osUser,
      info.ciJob,
      info.host,
      'running',
      info.stepsTotal,
      info.reverts ?? null,
      before === null ? null : JSON.stringify(before),
      ...(info.ticket ? [info.ticket] : []),
    ];
    const start = this.writer.asyncSession?.start ?? null;
    let id: number;
    const creation = this.writer.takePendingCreation();
    if (creation) {
      // A new ledger and its first row in one request (`ensure({ withFirstDeployment })`): the ledger committed first,
      // then the row with the session's commit mode; the id is 1.
      id = 1;
      const insert = {
        table: 'deployments',
        sql: `INSERT INTO ${this.writer.t('deployments')} (${columns}) VALUES (${this.writer.params(values.length + 1)})`,
        params: [id, ...values],
      };
      const r = await this.writer.conn.executeBatch!([
        ...creation,
        ...(start ? [`SELECT ${start}`] : []),
        ...this.writer.inlineAll([insert]),
      ]);
      if (r.error) {
        await this.writer.conn.execute('ROLLBACK').catch(() => {});
        // The ledger is there when the error is the row's, after the ledger's COMMIT: read again next time.
        this.writer.creationFailed();
        missing.get(rawConnection(this.writer.conn))?.delete(this.writer.versionTable);
        throw r.error;
      }
      this.writer.created();
    } else if (this.writer.dialect.returning) {
      // The session's commit mode is set by the same statement (selected in its CTE, which the id's subquery reads).
      const next = `(SELECT COALESCE(MAX(${this.writer.q('id')}), 0) + 1 FROM ${this.writer.t('deployments')})`;
      const r = await this.writer.conn.query<{ id: number | string }>(
        `WITH n AS MATERIALIZED (SELECT ${start ? `${start} AS s, ` : ''}${next} AS ${this.writer.q('id')})
         INSERT INTO ${this.writer.t('deployments')} (${columns}) VALUES ((SELECT ${this.writer.q('id')} FROM n), ${this.writer.params(values.length)})
         RETURNING ${this.writer.q('id')}`,
        values,
      );
      id = Number(r.rows[0]!.id);
    } else {
      id = empty ? 1 : await this.writer.nextId('deployments', this.writer.conn);
      await this.afterSetting(start && `SELECT ${start}`, {
        table: 'deployments',
        sql: `INSERT INTO ${this.writer.t('deployments')} (${columns}) VALUES (${this.writer.params(values.length + 1)})`,
        params: [id, ...values],
      });
    }
    open.set(this.summaryKey(id), { summary: {}, atClose: [] });
    return id;
  }

  /** Deployment `id`, when this connection opened it and has not closed it. */
  protected open(id: number): OpenDeployment | undefined {
    return openDeployments.get(rawConnection(this.writer.conn))?.get(this.summaryKey(id));
  }

  /**
   * Send `writes` with deployment `id`'s closing row, in its request and transaction (`finishDeployment`), instead of
   * now: where this connection opened the deployment and has not closed it, and the closing row's request can carry
   * them (the dialect writes literals and the connection batches). False when they must be written now. A deployment
   * whose process dies before its close loses them with it: it reads as interrupted, as it would without them.
   */
  withClosingRow(id: number, writes: readonly LedgerWrite[]): boolean {
    const open = this.open(id);
    if (!open || !this.writer.inlines || !this.writer.conn.executeBatch) return false;
    open.atClose.push(...writes);
    return true;
  }

  /**
   * Run the session setting `setting` (null: none), then `write`: in one round trip where the connection batches and
   * the dialect writes literals (a deployment's closing row with the session's commit mode, see `asyncSession`), else
   * one after the other. The setting holds from the write on, as when they are sent apart.
   */
  protected async afterSetting(setting: string | null, ...writes: LedgerWrite[]): Promise<void> {
    if ((setting || writes.length > 1) && this.writer.inlines && this.writer.conn.executeBatch) {
      // One request: one implicit transaction on the server, the writes in order.
      const r = await this.writer.conn.executeBatch([...(setting ? [setting] : []), ...this.writer.inlineAll(writes)]);
      if (r.error) throw r.error;
      return;
    }
    if (setting) await this.writer.conn.execute(setting);
    for (const write of writes) await this.writer.conn.query(write.sql, write.params);
  }

  /** The project's ledger state when a deployment started (see `startDeployment`); null for older rows. */
  async ledgerBefore(deploymentId: number): Promise<LedgerState | null> {
    const r = await this.writer.conn.query<{ ledger_before: string | LedgerState | null }>(
      `SELECT ${this.writer.q('ledger_before')} FROM ${this.writer.t('deployments')} WHERE ${this.writer.q('id')} = ${this.writer.p(1)}`,
      [deploymentId],
    );
    return this.writer.json<LedgerState>(r.rows[0]?.ledger_before);
  }

  async finishDeployment(
    id: number,
    status: Exclude<DeploymentStatus, 'running' | 'interrupted'>,
    error: string | null,
    failedStatement: string | null,
    summary: DeploymentSummary = {},
    before: readonly LedgerWrite[] = [],
  ): Promise<void> {
    // What was recorded while the deployment ran (the smoke checks it ran, kept by this connection until now) stays,
    // under this summary; of a deployment another session opened, the smoke checks its row holds.
    const open = this.open(id);
    if (open) summary = { ...open.summary, ...summary };
    else {
      const during = await this.summaryNow(id);
      if (during.smokeChecks) summary = { smokeChecks: during.smokeChecks, ...summary };
    }
    // The closing row's commit waits for the disk again (`asyncSession`): the setting goes first, in the same request.
    // Its `steps_applied` is counted by the statement itself: no read before it, and a BTEQ script, which records the
    // statement without running it, counts the rows its steps wrote when it runs.
    await this.afterSetting(this.writer.asyncSession?.end ?? null, ...(open?.atClose ?? []), ...before, {
      table: 'deployments',
      sql: `UPDATE ${this.writer.t('deployments')} SET ${this.writer.q('status')} = ${this.writer.p(1)}, ${this.writer.q('error')} = ${this.writer.p(2)}, ${this.writer.q('failed_statement')} = ${this.writer.p(3)}, ${this.writer.q('summary')} = ${this.writer.p(4)}, ${this.writer.q('finished_at')} = ${this.writer.dialect.now}, ${this.writer.q('steps_applied')} = ${this.writer.appliedCount(5, 6)} WHERE ${this.writer.q('id')} = ${this.writer.p(7)}`,
      params: [status, error, failedStatement, JSON.stringify(summary), id, 'applied', id],
    });
    openDeployments.get(rawConnection(this.writer.conn))?.delete(this.summaryKey(id));
  }

  /** How many steps of a deployment are recorded `applied` (its `steps_applied` once it is closed). */
  async appliedSteps(deploymentId: number, conn: Connection = this.writer.conn): Promise<number> {
    const r = await conn.query<{ n: number | string }>(
      `SELECT count(*) AS ${this.writer.q('n')} FROM ${this.writer.t('steps')} WHERE ${this.writer.q('deployment_id')} = ${this.writer.p(1)} AND ${this.writer.q('status')} = ${this.writer.p(2)}`,
      [deploymentId, 'applied'],
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  /**
   * Mark deployments still `running` as `interrupted`. Call it under the deployment lock: a deployment that holds
   * no lock cannot be running, so those rows belong to processes that died (killed, crashed, lost connection).
   * Returns their ids. Their committed steps stay applied, as the steps table says; the next deployment resumes.
   */
  async markInterrupted(byDeployment: string): Promise<number[]> {
    const ids = await this.runningDeployments();
    const why = `interrupted: the process ended before the deployment finished (found by ${byDeployment}); the steps recorded as applied committed, the others did not run or were rolled back`;
    for (const id of ids) {
      // Its applied steps reach `objects` first (a deployment's `steps_applied` set below would mark it folded).
      if (this.objects.folds) await this.objects.fold(id);
      await this.writer.conn.query(
        `UPDATE ${this.writer.t('deployments')} SET ${this.writer.q('status')} = ${this.writer.p(1)}, ${this.writer.q('error')} = ${this.writer.p(2)}, ${this.writer.q('finished_at')} = ${this.writer.dialect.now}, ${this.writer.q('steps_applied')} = ${this.writer.appliedCount(3, 4)} WHERE ${this.writer.q('id')} = ${this.writer.p(5)} AND ${this.writer.q('status')} = ${this.writer.p(6)}`,
        ['interrupted', why, id, 'applied', id, 'running'],
      );
    }
    return ids;
  }

  /** Ids of deployments left `running` (read only: what a dry run reports). */
  async runningDeployments(): Promise<number[]> {
    if (!(await this.writer.exists())) return [];
    const r = await this.writer.conn.query<{ id: number | string }>(
      `SELECT ${this.writer.q('id')} FROM ${this.writer.t('deployments')} WHERE ${this.writer.q('status')} = ${this.writer.p(1)} ORDER BY ${this.writer.q('id')}`,
      ['running'],
    );
    return r.rows.map((row) => Number(row.id));
  }

  /** The summary of the last finished deployment of `project` on `environment` (one query), null when there is none. */
  async lastFinishedSummary(project: string, environment: string): Promise<DeploymentSummary | null> {
    const where = `${this.writer.q('project')} = ${this.writer.p(1)} AND ${this.writer.q('environment')} = ${this.writer.p(2)} AND ${this.writer.q('finished_at')} IS NOT NULL`;
    const [row] = await this.newestFirst(where, [project, environment], ' LIMIT 1');
    return row ? deploymentSummary(row) : null;
  }

  /**
   * The newest deployment of `project` recorded in this database, whatever environment name it was made under (a
   * restored or renamed database is judged by what it holds: the drift stage).
   */
  async lastRecorded(project: string): Promise<DeploymentRow | undefined> {
    const rows = await this.newestFirst(`${this.writer.q('project')} = ${this.writer.p(1)}`, [project], ' LIMIT 1');
    return (await this.countRunning(rows))[0];
  }

  async list(project: string, environment: string, limit = 20): Promise<DeploymentRow[]> {
    const where = `${this.writer.q('project')} = ${this.writer.p(1)} AND ${this.writer.q('environment')} = ${this.writer.p(2)}`;
    return this.countRunning((await this.newestFirst(where, [project, environment])).slice(0, limit));
  }

  /**
   * The deployments of `projects` after `since`, newest first, in one query: after a deployment id, or after a project's
   * newest succeeded `deploy` (all when none): what a dependency carried since (`DeploymentSummary.carried`), which a
   * failed, killed or `disable` deployment of that project does not end.
   */
  async recordedAfter(since: number | { succeeded: string }, projects: readonly string[]): Promise<DeploymentRow[]> {
    if (!projects.length) return [];
    const w = this.writer;
    const names = projects.map((_, i) => w.p(i + 2)).join(', ');
    const last = `SELECT MAX(${w.q('id')}) FROM ${w.t('deployments')} WHERE ${w.q('project')} = ${w.p(1)} AND ${w.q('kind')} = 'deploy' AND ${w.q('status')} = 'succeeded'`;
    const where = `${w.q('id')} > ${typeof since === 'number' ? w.p(1) : `COALESCE((${last}), 0)`} AND ${w.q('project')} IN (${names})`;
    const first = typeof since === 'number' ? since : since.succeeded;
    return this.countRunning(await this.newestFirst(where, [first, ...projects]));
  }

  /** The deployments whose row matches `where` (with the dialect's markers of `params`), newest first; `tail`: a limit. */
  private async newestFirst(where: string, params: unknown[], tail = ''): Promise<DeploymentRow[]> {
    if (!(await this.writer.exists())) return [];
    const r = await this.writer.conn.query<DeploymentRow>(
      `SELECT ${await this.deploymentColumns()} FROM ${this.writer.t('deployments')} WHERE ${where} ORDER BY ${this.writer.q('id')} DESC${tail}`,
      params,
    );
    return r.rows.map((row) => this.deploymentRow(row));
  }

  /**
   * The newest deployment of every project on `environment` (one query), by project; without `environment`, the newest
   * recorded in this database whatever environment name it was made under (what the database holds: drift).
   */
  async lastDeployments(environment?: string): Promise<Map<string, DeploymentRow>> {
    if (!(await this.writer.exists())) return new Map();
    const where = environment === undefined ? '' : `WHERE ${this.writer.q('environment')} = ${this.writer.p(1)} `;
    const r = await this.writer.conn.query<DeploymentRow>(
      `SELECT ${await this.deploymentColumns()} FROM ${this.writer.t('deployments')} WHERE ${this.writer.q('id')} IN
         (SELECT MAX(${this.writer.q('id')}) FROM ${this.writer.t('deployments')} ${where}GROUP BY ${this.writer.q('project')})`,
      environment === undefined ? [] : [environment],
    );
    const rows = await this.countRunning(r.rows.map((row) => this.deploymentRow(row)));
    return new Map(rows.map((row) => [row.project, row]));
  }

  /** A deployment still running (or whose process died): its applied steps counted by their rows (written at close). */
  protected async countRunning(rows: DeploymentRow[]): Promise<DeploymentRow[]> {
    for (const row of rows) if (row.status === 'running') row.steps_applied = await this.appliedSteps(row.id);
    return rows;
  }

  protected async deploymentColumns(): Promise<string> {
    // A ledger not yet upgraded to version 3 (read by a dry run) has no ticket column: it reads as null.
    const ticket = (await this.writer.version()) >= 3 ? this.writer.q('ticket') : `NULL AS ${this.writer.q('ticket')}`;
    return `${this.writer.cols('id', 'project', 'environment', 'kind', 'status', 'started_at', 'finished_at', 'steps_total', 'steps_applied', 'db_user', 'os_user', 'host', 'git_commit', 'package', 'plan_checksum', 'error', 'reverts', 'summary', 'ci_job')}, ${ticket}`;
  }

  protected deploymentRow(row: DeploymentRow): DeploymentRow {
    return {
      ...row,
      id: Number(row.id),
      steps_total: Number(row.steps_total),
      steps_applied: Number(row.steps_applied),
      reverts: row.reverts === null || row.reverts === undefined ? null : Number(row.reverts),
      // JSON stored as text comes back as an object, as from a JSON column.
      summary:
        this.writer.dialect.jsonAsText && typeof row.summary === 'string'
          ? this.writer.json<Record<string, unknown>>(row.summary)
          : row.summary,
    };
  }

  /**
   * Merge `patch` into a deployment's summary (smoke results arrive after a rollback's steps; a fingerprint read at
   * the end of a batch). A deployment this connection opened and has not closed keeps it until its closing row writes
   * it; another is updated by one statement where the dialect merges JSON (`LedgerDialect.mergeJson`), else read,
   * merged and written.
   */
  async updateSummary(id: number, patch: DeploymentSummary, conn: Connection = this.writer.conn): Promise<void> {
    const open = this.open(id);
    if (open) {
      open.summary = { ...open.summary, ...patch };
      return;
    }
    const merge = this.summaryMerge(id, patch);
    if (merge) {
      await conn.query(merge.sql, merge.params);
      return;
    }
    const merged = { ...(await this.summaryNow(id, conn)), ...patch };
    await conn.query(
      `UPDATE ${this.writer.t('deployments')} SET ${this.writer.q('summary')} = ${this.writer.p(1)} WHERE ${this.writer.q('id')} = ${this.writer.p(2)}`,
      [JSON.stringify(merged), id],
    );
  }

  /**
   * `updateSummary` for many deployments, in one transaction: in one request where the dialect merges JSON, writes
   * literals and the connection batches (an Nx batch records every deployment's fingerprint at its end).
   */
  async updateSummaries(patches: readonly { id: number; patch: DeploymentSummary }[]): Promise<void> {
    const closed: { id: number; patch: DeploymentSummary }[] = [];
    for (const p of patches) {
      if (this.open(p.id)) await this.updateSummary(p.id, p.patch);
      else closed.push(p);
    }
    if (!closed.length) return;
    const merges = closed.map((p) => this.summaryMerge(p.id, p.patch));
    // One request (`runTogether`): one implicit transaction on the server.
    if (this.writer.inlines && this.writer.conn.executeBatch && merges.every((m) => m !== null))
      return this.writer.runTogether(merges);
    await this.writer.conn.transaction(async (tx) => {
      for (const p of closed) await this.updateSummary(p.id, p.patch, tx);
    });
  }

  /**
   * Mark a closed deployment `failed` after all, with `error` and `patch` merged into its summary, in one transaction:
   * a rollback whose steps all ran, found not converged by the fingerprint it recorded after it closed (read while its
   * smoke checks ran).
   */
  async failAfterClose(id: number, error: string, patch: DeploymentSummary): Promise<void> {
    await this.writer.conn.transaction(async (tx) => {
      await this.updateSummary(id, patch, tx);
      await tx.query(
        `UPDATE ${this.writer.t('deployments')} SET ${this.writer.q('status')} = ${this.writer.p(1)}, ${this.writer.q('error')} = ${this.writer.p(2)} WHERE ${this.writer.q('id')} = ${this.writer.p(3)}`,
        ['failed', error, id],
      );
    });
  }

  /** The statement merging `patch` into deployment `id`'s summary without reading it; null when the dialect cannot. */
  protected summaryMerge(id: number, patch: DeploymentSummary): LedgerWrite | null {
    const merge = this.writer.dialect.mergeJson;
    if (!merge) return null;
    return {
      sql: `UPDATE ${this.writer.t('deployments')} SET ${this.writer.q('summary')} = ${merge(this.writer.q('summary'), this.writer.p(1))} WHERE ${this.writer.q('id')} = ${this.writer.p(2)}`,
      params: [JSON.stringify(patch), id],
      table: 'deployments',
    };
  }
}
