import type { Connection } from '../engine/engine';
import type { Hazard } from '../plan/plan';
import type { LedgerWrite, StepStatus, StepRecord, LedgerStep } from './types';
import type { LedgerWriter } from './ledger-writer';

/** The rows of `steps`: each step's outcome, the journaled (`started`) ones recovery reconciles, and status changes. */
export class StepStore {
  constructor(
    /** The writer every store of the ledger shares (connection, dialect, request batching), by reference. */
    readonly writer: LedgerWriter,
  ) {}

  /**
   * Record one step's outcome. `conn` lets the record share the step's transaction. Without an explicit
   * `previousChecksum`, the object's current checksum in `objects` is recorded as the state before the step.
   */
  async recordStep(deploymentId: number, step: StepRecord, conn: Connection = this.writer.conn): Promise<void> {
    await this.writer.run(this.stepWrites(deploymentId, step), conn);
  }

  /**
   * The writes that record one step (see `recordStep`), to run in order. With `step.serverClock` its `started_at` and
   * `duration_ms` are the dialect's clock expressions (`LedgerInlining`), for a row sent in the same request as the
   * step's statements, after them; `step.guard` (with `serverClock`) is the deployment lock's guard (`LockHandle.guard`),
   * evaluated by the row's INSERT.
   */
  stepWrites(deploymentId: number, step: StepRecord & { serverClock?: boolean; guard?: string | null }): LedgerWrite[] {
    const writes: LedgerWrite[] = [];
    if (step.replacesStarted) {
      // Idempotent: a record written again after a crash replaces the `started` row instead of colliding with it.
      writes.push({
        sql: `DELETE FROM ${this.writer.t('steps')} WHERE ${this.writer.q('deployment_id')} = ${this.writer.p(1)} AND ${this.writer.q('step_order')} = ${this.writer.p(2)} AND ${this.writer.q('status')} = ${this.writer.p(3)}`,
        params: [deploymentId, step.order, 'started'],
        table: 'steps',
      });
    }
    const clock = step.serverClock ? this.writer.dialect.inline : undefined;
    if (step.serverClock && !clock)
      throw new Error(`the ${this.writer.dialect.schema} ledger dialect cannot time a step on the server`);
    const params: unknown[] = [
      deploymentId,
      step.order,
      step.objectKey,
      step.action,
      step.checksum,
      JSON.stringify(step.statements),
      step.reverse ? JSON.stringify(step.reverse) : null,
      step.previousDefinition,
      this.writer.bool(step.transactional),
    ];
    const values = [this.writer.params(params.length)];
    // The lock's guard (1 while the lock is held, it raises once it is lost) is evaluated with the row, after the
    // step's statements and right before its transaction commits, at no statement of its own.
    if (clock) values.push(clock.startedAt, step.guard ? `(${clock.elapsedMs}) * ${step.guard}` : clock.elapsedMs);
    else {
      params.push(step.startedAt, step.durationMs);
      values.push(this.writer.p(params.length - 1), this.writer.p(params.length));
    }
    params.push(
      step.status,
      step.error,
      step.revertsStep ?? null,
      step.hazards?.length ? JSON.stringify(step.hazards) : null,
    );
    values.push(this.writer.params(4, params.length - 3));
    if (step.previousChecksum === undefined) {
      // Parameters are repeated rather than reused: some dialects only have positional `?` markers.
      params.push(deploymentId, step.objectKey);
      values.push(
        `(SELECT ${this.writer.ac('o', 'checksum')} FROM ${this.writer.t('objects')} o, ${this.writer.t('deployments')} d ` +
          `WHERE ${this.writer.ac('d', 'id')} = ${this.writer.p(params.length - 1)} AND ${this.writer.ac('o', 'project')} = ${this.writer.ac('d', 'project')} AND ${this.writer.ac('o', 'object_key')} = ${this.writer.p(params.length)})`,
      );
    } else {
      params.push(step.previousChecksum);
      values.push(this.writer.p(params.length));
    }
    // The deployment's `steps_applied` is not counted here, one hot-row UPDATE per step: the closing row counts the
    // applied rows (`finishDeployment`, `markInterrupted`), and `deployments` counts them for a deployment still running.
    writes.push({
      sql: `INSERT INTO ${this.writer.t('steps')} (${this.writer.cols('deployment_id', 'step_order', 'object_key', 'action', 'checksum', 'statements', 'reverse_statements', 'previous_definition', 'transactional', 'started_at', 'duration_ms', 'status', 'error', 'reverts_step', 'hazards', 'previous_checksum')})
       VALUES (${values.join(', ')})`,
      params,
      table: 'steps',
    });
    return writes;
  }

  /**
   * Steps left `started` by deployments that are no longer running (their process died while the step ran outside
   * a transaction), oldest first, with their project.
   */
  async startedSteps(): Promise<(LedgerStep & { project: string })[]> {
    if ((await this.writer.version()) < 2) return [];
    const r = await this.writer.conn.query<{
      deployment_id: number | string;
      step_order: number | string;
      project: string;
    }>(
      `SELECT ${this.writer.ac('s', 'deployment_id')}, ${this.writer.ac('s', 'step_order')}, ${this.writer.ac('d', 'project')} FROM ${this.writer.t('steps')} s, ${this.writer.t('deployments')} d
        WHERE ${this.writer.ac('d', 'id')} = ${this.writer.ac('s', 'deployment_id')} AND ${this.writer.ac('s', 'status')} = ${this.writer.p(1)} AND ${this.writer.ac('d', 'status')} <> ${this.writer.p(2)}
        ORDER BY ${this.writer.ac('s', 'deployment_id')}, ${this.writer.ac('s', 'step_order')}`,
      ['started', 'running'],
    );
    const out: (LedgerStep & { project: string })[] = [];
    for (const row of r.rows) {
      const step = (await this.of(Number(row.deployment_id))).find((s) => s.order === Number(row.step_order));
      if (step) out.push({ ...step, project: row.project });
    }
    return out;
  }

  /** A `started` step's outcome, found after its process died: `applied` (counted) or `failed`, with why. */
  async resolveStarted(
    deploymentId: number,
    order: number,
    status: 'applied' | 'failed',
    error: string | null,
    conn: Connection = this.writer.conn,
  ): Promise<void> {
    await conn.query(
      `UPDATE ${this.writer.t('steps')} SET ${this.writer.q('status')} = ${this.writer.p(1)}, ${this.writer.q('error')} = ${this.writer.p(2)} WHERE ${this.writer.q('deployment_id')} = ${this.writer.p(3)} AND ${this.writer.q('step_order')} = ${this.writer.p(4)} AND ${this.writer.q('status')} = ${this.writer.p(5)}`,
      [status, error, deploymentId, order, 'started'],
    );
    if (status === 'applied') {
      await conn.query(
        `UPDATE ${this.writer.t('deployments')} SET ${this.writer.q('steps_applied')} = ${this.writer.q('steps_applied')} + 1 WHERE ${this.writer.q('id')} = ${this.writer.p(1)}`,
        [deploymentId],
      );
    }
  }

  /** Every step recorded for a deployment, in step order. */
  async of(deploymentId: number): Promise<LedgerStep[]> {
    // A ledger not yet upgraded (read by a dry run) has no rollback columns: they read as empty.
    const rollbackColumns =
      (await this.writer.version()) >= 2
        ? this.writer.cols('previous_checksum', 'reverts_step', 'hazards')
        : `NULL AS ${this.writer.q('previous_checksum')}, NULL AS ${this.writer.q('reverts_step')}, NULL AS ${this.writer.q('hazards')}`;
    const r = await this.writer.conn.query<Record<string, unknown>>(
      `SELECT ${this.writer.cols('deployment_id', 'step_order', 'object_key', 'action', 'checksum', 'statements', 'reverse_statements', 'previous_definition', 'transactional', 'status')}, ${rollbackColumns}
         FROM ${this.writer.t('steps')} WHERE ${this.writer.q('deployment_id')} = ${this.writer.p(1)} ORDER BY ${this.writer.q('step_order')}`,
      [deploymentId],
    );
    return r.rows.map((row) => ({
      deploymentId: Number(row.deployment_id),
      order: Number(row.step_order),
      objectKey: String(row.object_key),
      action: String(row.action),
      checksum: String(row.checksum),
      statements: this.writer.json<string[]>(row.statements) ?? [],
      reverse: this.writer.json<string[]>(row.reverse_statements),
      previousDefinition: (row.previous_definition as string | null) ?? null,
      previousChecksum: (row.previous_checksum as string | null) ?? null,
      // A boolean, or 1/0 where the dialect binds booleans as numbers.
      transactional: Boolean(Number(row.transactional)),
      status: row.status as StepStatus,
      revertsStep: row.reverts_step === null || row.reverts_step === undefined ? null : Number(row.reverts_step),
      hazards: this.writer.json<Hazard[]>(row.hazards) ?? [],
    }));
  }

  /**
   * The newest applied `migrate` step of `objectKey` in the deployments of a project on an environment (`--to V3`:
   * the step that applied migration 3, or re-applied it when a rollback of it was rolled back), or null.
   */
  async appliedStep(
    project: string,
    environment: string,
    objectKey: string,
  ): Promise<{ deploymentId: number; order: number } | null> {
    const r = await this.writer.conn.query<{ deployment_id: number | string; step_order: number | string }>(
      `SELECT ${this.writer.ac('s', 'deployment_id')}, ${this.writer.ac('s', 'step_order')} FROM ${this.writer.t('steps')} s, ${this.writer.t('deployments')} d
        WHERE ${this.writer.ac('d', 'id')} = ${this.writer.ac('s', 'deployment_id')} AND ${this.writer.ac('d', 'project')} = ${this.writer.p(1)} AND ${this.writer.ac('d', 'environment')} = ${this.writer.p(2)}
          AND ${this.writer.ac('s', 'object_key')} = ${this.writer.p(3)} AND ${this.writer.ac('s', 'status')} = ${this.writer.p(4)} AND ${this.writer.ac('s', 'action')} = ${this.writer.p(5)}
        ORDER BY ${this.writer.ac('s', 'deployment_id')} DESC, ${this.writer.ac('s', 'step_order')} DESC`,
      [project, environment, objectKey, 'applied', 'migrate'],
    );
    const row = r.rows[0];
    return row ? { deploymentId: Number(row.deployment_id), order: Number(row.step_order) } : null;
  }

  /**
   * The newest step of an earlier deployment of `project` that left `objectKey` at `checksum` (the version a later
   * step replaced), or null. A package step that re-created an existing object records a DROP as its reverse; this
   * is what undoing it must put back instead.
   */
  async stepThatApplied(
    project: string,
    objectKey: string,
    checksum: string,
    beforeDeployment: number,
  ): Promise<LedgerStep | null> {
    const r = await this.writer.conn.query<{ deployment_id: number | string; step_order: number | string }>(
      `SELECT ${this.writer.ac('s', 'deployment_id')}, ${this.writer.ac('s', 'step_order')} FROM ${this.writer.t('steps')} s, ${this.writer.t('deployments')} d
        WHERE ${this.writer.ac('d', 'id')} = ${this.writer.ac('s', 'deployment_id')} AND ${this.writer.ac('d', 'project')} = ${this.writer.p(1)} AND ${this.writer.ac('s', 'object_key')} = ${this.writer.p(2)}
          AND ${this.writer.ac('s', 'checksum')} = ${this.writer.p(3)} AND ${this.writer.ac('s', 'deployment_id')} < ${this.writer.p(4)}
          AND ${this.writer.ac('d', 'kind')} = ${this.writer.p(5)} AND ${this.writer.ac('s', 'status')} IN (${this.writer.p(6)}, ${this.writer.p(7)})
        ORDER BY ${this.writer.ac('s', 'deployment_id')} DESC, ${this.writer.ac('s', 'step_order')} DESC`,
      [project, objectKey, checksum, beforeDeployment, 'deploy', 'applied', 'undone'],
    );
    const row = r.rows[0];
    if (!row) return null;
    return (await this.of(Number(row.deployment_id))).find((s) => s.order === Number(row.step_order)) ?? null;
  }

  /**
   * Change a step's status from `was` (as read with `steps`) to `status`: undone by a rollback, applied again when
   * that rollback is undone. The deployment's `steps_applied` follows.
   */
  async setStepStatus(
    deploymentId: number,
    order: number,
    was: StepStatus,
    status: StepStatus,
    conn: Connection = this.writer.conn,
  ): Promise<void> {
    await this.writer.run(this.stepStatusWrites(deploymentId, order, was, status), conn);
  }

  /** The writes of `setStepStatus`: none when the status stays. */
  stepStatusWrites(deploymentId: number, order: number, was: StepStatus, status: StepStatus): LedgerWrite[] {
    if (was === status) return [];
    const writes: LedgerWrite[] = [
      {
        sql: `UPDATE ${this.writer.t('steps')} SET ${this.writer.q('status')} = ${this.writer.p(1)} WHERE ${this.writer.q('deployment_id')} = ${this.writer.p(2)} AND ${this.writer.q('step_order')} = ${this.writer.p(3)}`,
        params: [status, deploymentId, order],
        table: 'steps',
      },
    ];
    const delta = status === 'applied' ? 1 : was === 'applied' ? -1 : 0;
    if (delta) {
      writes.push({
        sql: `UPDATE ${this.writer.t('deployments')} SET ${this.writer.q('steps_applied')} = ${this.writer.q('steps_applied')} + ${this.writer.p(1)} WHERE ${this.writer.q('id')} = ${this.writer.p(2)}`,
        params: [delta, deploymentId],
        table: 'deployments',
      });
    }
    return writes;
  }
}
