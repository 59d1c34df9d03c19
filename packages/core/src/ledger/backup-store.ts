import type { Connection } from '../engine/engine';
import type { BackupRow } from './types';
import type { LedgerWriter } from './ledger-writer';

/** The rows of `backups`: what the conflict strategy `rename` kept, until it is dropped or renamed back. */
export class BackupStore {
  constructor(
    /** The writer every store of the ledger shares (connection, dialect, request batching), by reference. */
    readonly writer: LedgerWriter,
  ) {}

  /**
   * Remember a backup kept by the conflict strategy `rename`; retained until someone drops it (no expiry yet). The
   * ledger's first backup creates its `backups` table, on `conn` (the step's transaction).
   */
  async recordBackup(
    deploymentId: number,
    objectKey: string,
    backupName: string,
    conn: Connection = this.writer.conn,
  ): Promise<void> {
    await this.writer.ensureTable('backups', conn);
    const id = await this.writer.nextId('backups', conn);
    await conn.query(
      `INSERT INTO ${this.writer.t('backups')} (${this.writer.cols('id', 'deployment_id', 'object_key', 'backup_name')}) VALUES (${this.writer.params(4)})`,
      [id, deploymentId, objectKey, backupName],
    );
  }

  /** A backup no longer exists under its name (renamed back by a rollback, or dropped). */
  async backupGone(deploymentId: number, backupName: string, conn: Connection = this.writer.conn): Promise<void> {
    if (!(await this.writer.hasTable('backups', conn))) return;
    await conn.query(
      `UPDATE ${this.writer.t('backups')} SET ${this.writer.q('dropped_at')} = ${this.writer.dialect.now} WHERE ${this.writer.q('deployment_id')} = ${this.writer.p(1)} AND ${this.writer.q('backup_name')} = ${this.writer.p(2)}`,
      [deploymentId, backupName],
    );
  }

  /** Backups made by the project's deployments that still exist (not dropped, not renamed back), oldest first. */
  async liveBackups(project: string): Promise<BackupRow[]> {
    if (!(await this.writer.exists()) || !(await this.writer.hasTable('backups'))) return [];
    // Two plain queries instead of a JOIN: every ledger dialect (and the Teradata test double) reads single-table
    // SELECTs, and both tables stay small.
    const deployments = await this.writer.conn.query<{ id: number | string }>(
      `SELECT ${this.writer.q('id')} FROM ${this.writer.t('deployments')} WHERE ${this.writer.q('project')} = ${this.writer.p(1)}`,
      [project],
    );
    const ids = new Set(deployments.rows.map((d) => Number(d.id)));
    if (ids.size === 0) return [];
    const r = await this.writer.conn.query<BackupRow>(
      `SELECT ${this.writer.cols('id', 'deployment_id', 'object_key', 'backup_name', 'created_at', 'retain_until', 'dropped_at')}
         FROM ${this.writer.t('backups')} WHERE ${this.writer.q('dropped_at')} IS NULL ORDER BY ${this.writer.q('id')}`,
    );
    return r.rows
      .map((row) => ({ ...row, id: Number(row.id), deployment_id: Number(row.deployment_id) }))
      .filter((row) => ids.has(row.deployment_id));
  }

  /** The backups a deployment kept, oldest first (none where the ledger has no `backups` table yet). */
  async of(deploymentId: number): Promise<BackupRow[]> {
    if (!(await this.writer.exists()) || !(await this.writer.hasTable('backups'))) return [];
    const r = await this.writer.conn.query<BackupRow>(
      `SELECT ${this.writer.cols('id', 'deployment_id', 'object_key', 'backup_name', 'created_at', 'retain_until', 'dropped_at')} FROM ${this.writer.t('backups')} WHERE ${this.writer.q('deployment_id')} = ${this.writer.p(1)} ORDER BY ${this.writer.q('id')}`,
      [deploymentId],
    );
    return r.rows.map((row) => ({ ...row, id: Number(row.id), deployment_id: Number(row.deployment_id) }));
  }

  /** A backup renamed back by a rollback exists again under its backup name (that rollback was undone). */
  async backupBack(deploymentId: number, backupName: string, conn: Connection = this.writer.conn): Promise<void> {
    if (!(await this.writer.hasTable('backups', conn))) return;
    await conn.query(
      `UPDATE ${this.writer.t('backups')} SET ${this.writer.q('dropped_at')} = NULL WHERE ${this.writer.q('deployment_id')} = ${this.writer.p(1)} AND ${this.writer.q('backup_name')} = ${this.writer.p(2)}`,
      [deploymentId, backupName],
    );
  }
}
