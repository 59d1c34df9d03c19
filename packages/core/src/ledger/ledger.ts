import type { Connection } from '../engine/engine';
import type { BackupRow } from './types';

import { StepStore } from './step-store';
/**
 * The ledger inside a target database, written through the engine's dialect (its DDL, parameter markers, quoting,
 * booleans and version table). Engine-neutral: the same code serves PostgreSQL, PGlite and Teradata. It never relies
 * on sequences: ids are `MAX(id) + 1` under the deployment lock that every writer holds, computed by the INSERT where
 * the dialect returns keys (`LedgerDialect.returning`), else read first.
 */
export class Ledger extends StepStore {
  /**
   * Remember a backup kept by the conflict strategy `rename`; retained until someone drops it (no expiry yet). The
   * ledger's first backup creates its `backups` table, on `conn` (the step's transaction).
   */
  async recordBackup(
    deploymentId: number,
    objectKey: string,
    backupName: string,
    conn: Connection = this.conn,
  ): Promise<void> {
    await this.ensureTable('backups', conn);
    const id = await this.nextId('backups', conn);
    await conn.query(
      `INSERT INTO ${this.t('backups')} (${this.cols('id', 'deployment_id', 'object_key', 'backup_name')}) VALUES (${this.params(4)})`,
      [id, deploymentId, objectKey, backupName],
    );
  }

  /** A backup no longer exists under its name (renamed back by a rollback, or dropped). */
  async backupGone(deploymentId: number, backupName: string, conn: Connection = this.conn): Promise<void> {
    if (!(await this.hasTable('backups', conn))) return;
    await conn.query(
      `UPDATE ${this.t('backups')} SET ${this.q('dropped_at')} = ${this.dialect.now} WHERE ${this.q('deployment_id')} = ${this.p(1)} AND ${this.q('backup_name')} = ${this.p(2)}`,
      [deploymentId, backupName],
    );
  }

  /** Backups made by the project's deployments that still exist (not dropped, not renamed back), oldest first. */
  async liveBackups(project: string): Promise<BackupRow[]> {
    if (!(await this.exists()) || !(await this.hasTable('backups'))) return [];
    // Two plain queries instead of a JOIN: every ledger dialect (and the Teradata test double) reads single-table
    // SELECTs, and both tables stay small.
    const deployments = await this.conn.query<{ id: number | string }>(
      `SELECT ${this.q('id')} FROM ${this.t('deployments')} WHERE ${this.q('project')} = ${this.p(1)}`,
      [project],
    );
    const ids = new Set(deployments.rows.map((d) => Number(d.id)));
    if (ids.size === 0) return [];
    const r = await this.conn.query<BackupRow>(
      `SELECT ${this.cols('id', 'deployment_id', 'object_key', 'backup_name', 'created_at', 'retain_until', 'dropped_at')}
         FROM ${this.t('backups')} WHERE ${this.q('dropped_at')} IS NULL ORDER BY ${this.q('id')}`,
    );
    return r.rows
      .map((row) => ({ ...row, id: Number(row.id), deployment_id: Number(row.deployment_id) }))
      .filter((row) => ids.has(row.deployment_id));
  }

  /** The backups a deployment kept, oldest first (none where the ledger has no `backups` table yet). */
  async backups(deploymentId: number): Promise<BackupRow[]> {
    if (!(await this.exists()) || !(await this.hasTable('backups'))) return [];
    const r = await this.conn.query<BackupRow>(
      `SELECT ${this.cols('id', 'deployment_id', 'object_key', 'backup_name', 'created_at', 'retain_until', 'dropped_at')} FROM ${this.t('backups')} WHERE ${this.q('deployment_id')} = ${this.p(1)} ORDER BY ${this.q('id')}`,
      [deploymentId],
    );
    return r.rows.map((row) => ({ ...row, id: Number(row.id), deployment_id: Number(row.deployment_id) }));
  }

  /** A backup renamed back by a rollback exists again under its backup name (that rollback was undone). */
  async backupBack(deploymentId: number, backupName: string, conn: Connection = this.conn): Promise<void> {
    if (!(await this.hasTable('backups', conn))) return;
    await conn.query(
      `UPDATE ${this.t('backups')} SET ${this.q('dropped_at')} = NULL WHERE ${this.q('deployment_id')} = ${this.p(1)} AND ${this.q('backup_name')} = ${this.p(2)}`,
      [deploymentId, backupName],
    );
  }
}

export * from './types';
