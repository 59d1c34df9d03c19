import type { Connection, LedgerDialect } from '../engine/engine';
import type { DeployedState } from '../planner/planner';

/** Who and what a deployment is, recorded when it starts. */
export interface DeploymentInfo {
  project: string;
  environment: string;
  kind: 'deploy' | 'rollback';
  planChecksum: string;
  package: string | null;
  gitCommit: string | null;
  toolVersion: string;
  osUser: string;
  ciJob: string | null;
  host: string;
  stepsTotal: number;
  /** For a rollback: the deployment it undoes. */
  reverts?: number | null;
}

/**
 * `applied`: committed. `failed`: the step that failed. `rolled-back`: ran, then vanished with the transaction of a
 * step that failed after it (transaction scope `project` or `plan`). `skipped`: not run (its dependencies failed,
 * or its transaction was rolled back before it started). `undone`: applied, then reversed by the automatic rollback.
 */
export type StepStatus = 'applied' | 'failed' | 'rolled-back' | 'skipped' | 'undone';

/**
 * Final status of a deployment row. `running` while it runs; `interrupted` when its process died before it
 * finished (set by the next deployment, under the lock); `rolled-back` when it failed and its applied steps were
 * undone automatically.
 */
export type DeploymentStatus = 'running' | 'succeeded' | 'failed' | 'rolled-back' | 'interrupted';

/** A backup kept by the conflict strategy `rename`. */
export interface BackupRow {
  id: number;
  deployment_id: number;
  object_key: string;
  backup_name: string;
  created_at: Date | string;
  retain_until: Date | string | null;
  dropped_at: Date | string | null;
}

export interface StepRecord {
  order: number;
  objectKey: string;
  action: string;
  checksum: string;
  statements: string[];
  reverse: string[] | null;
  previousDefinition: string | null;
  transactional: boolean;
  startedAt: Date;
  durationMs: number;
  status: StepStatus;
  error: string | null;
}

export interface DeploymentRow {
  id: number;
  project: string;
  environment: string;
  kind: string;
  status: string;
  started_at: Date | string;
  finished_at: Date | string | null;
  steps_total: number;
  steps_applied: number;
  db_user: string;
  os_user: string | null;
  host: string | null;
  git_commit: string | null;
  package: string | null;
  error: string | null;
  reverts: number | null;
  /** JSON text (see `DeploymentSummary`), or null for deployments that never finished. */
  summary: string | Record<string, unknown> | null;
}

/** What the ledger keeps in `deployments.summary` (JSON), beyond the columns. */
export interface DeploymentSummary {
  /** Transaction scope used: `object`, `project` or `plan`. */
  transaction?: string;
  /** When the first step failed (ISO time). */
  failedAt?: string;
  /** When the automatic rollback finished undoing the deployment's steps (ISO time). */
  rolledBackAt?: string;
  /** Why the automatic rollback stopped before undoing everything. */
  rollbackIncomplete?: string;
  /** The engine's fingerprint of the project's schemas when the deployment ended: `status` compares it (drift). */
  fingerprint?: string | null;
  /** Objects that existed without the ledger knowing them, and what was done about them. */
  conflicts?: { object: string; strategy: string; rule: string; backup: string | null }[];
  /** Smoke checks after the deployment; `not run` until they exist. */
  smoke?: string;
}

/**
 * The ledger inside a target database, written through the engine's dialect (its DDL and parameter markers).
 * Engine-neutral: the same code serves PostgreSQL, PGlite and Teradata.
 */
export class Ledger {
  constructor(
    private readonly conn: Connection,
    private readonly dialect: LedgerDialect,
  ) {}

  private t(table: string): string {
    return `${this.dialect.schema}.${table}`;
  }

  private p(n: number): string {
    return this.dialect.param(n);
  }

  /** Ledger version in this database; 0 when dbee has never written here. */
  async version(): Promise<number> {
    try {
      const r = await this.conn.query<{ v: number | string | null }>(`SELECT MAX(version) AS v FROM ${this.t('ledger_version')}`);
      return Number(r.rows[0]?.v ?? 0);
    } catch {
      return 0;
    }
  }

  /** Create or upgrade the ledger tables; run under the deployment lock. Returns the version reached. */
  async ensure(): Promise<number> {
    const current = await this.version();
    for (let v = current; v < this.dialect.migrations.length; v++) {
      const upgrade = async (c: Connection) => {
        for (const sql of this.dialect.migrations[v]!) await c.execute(sql);
        await c.query(`INSERT INTO ${this.t('ledger_version')} (version) VALUES (${this.p(1)})`, [v + 1]);
      };
      // Engines without transactional DDL apply each statement on its own.
      await this.conn.transaction(upgrade);
    }
    return this.dialect.migrations.length;
  }

  /** True when the ledger exists; reads never create it (a dry run touches nothing). */
  async exists(): Promise<boolean> {
    return (await this.version()) > 0;
  }

  async deployedState(project: string): Promise<DeployedState> {
    if (!(await this.exists())) return { objects: new Map(), migrations: new Map() };
    const objects = await this.conn.query<{ object_key: string; checksum: string }>(
      `SELECT object_key, checksum FROM ${this.t('objects')} WHERE project = ${this.p(1)}`,
      [project],
    );
    const migrations = await this.conn.query<{ version: string; checksum: string }>(
      `SELECT version, checksum FROM ${this.t('migrations')} WHERE project = ${this.p(1)}`,
      [project],
    );
    return {
      objects: new Map(objects.rows.map((r) => [r.object_key, r.checksum])),
      migrations: new Map(migrations.rows.map((r) => [r.version, r.checksum])),
    };
  }

  async startDeployment(info: DeploymentInfo): Promise<number> {
    const r = await this.conn.query<{ id: number | string }>(
      `INSERT INTO ${this.t('deployments')} (project, environment, kind, plan_checksum, package, git_commit, tool_version, os_user, ci_job, host, status, steps_total, reverts)
       VALUES (${[...Array(13)].map((_, i) => this.p(i + 1)).join(', ')}) RETURNING id`,
      [
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
      ],
    );
    return Number(r.rows[0]!.id);
  }

  /** Record one step's outcome. `conn` lets the record share the step's transaction. */
  async recordStep(deploymentId: number, step: StepRecord, conn: Connection = this.conn): Promise<void> {
    await conn.query(
      `INSERT INTO ${this.t('steps')} (deployment_id, step_order, object_key, action, checksum, statements, reverse_statements, previous_definition, transactional, started_at, duration_ms, status, error)
       VALUES (${[...Array(13)].map((_, i) => this.p(i + 1)).join(', ')})`,
      [
        deploymentId,
        step.order,
        step.objectKey,
        step.action,
        step.checksum,
        JSON.stringify(step.statements),
        step.reverse ? JSON.stringify(step.reverse) : null,
        step.previousDefinition,
        step.transactional,
        step.startedAt,
        step.durationMs,
        step.status,
        step.error,
      ],
    );
    if (step.status === 'applied') {
      await conn.query(`UPDATE ${this.t('deployments')} SET steps_applied = steps_applied + 1 WHERE id = ${this.p(1)}`, [deploymentId]);
    }
  }

  /** Remember the object's new checksum (or forget it when it was dropped or undone). */
  async setObjectState(project: string, objectKey: string, checksum: string | null, deploymentId: number, conn: Connection = this.conn): Promise<void> {
    await conn.query(`DELETE FROM ${this.t('objects')} WHERE project = ${this.p(1)} AND object_key = ${this.p(2)}`, [project, objectKey]);
    if (checksum !== null) {
      await conn.query(
        `INSERT INTO ${this.t('objects')} (project, object_key, checksum, deployment_id) VALUES (${this.p(1)}, ${this.p(2)}, ${this.p(3)}, ${this.p(4)})`,
        [project, objectKey, checksum, deploymentId],
      );
    }
  }

  async recordMigration(project: string, version: string, description: string, checksum: string, deploymentId: number, conn: Connection = this.conn): Promise<void> {
    await conn.query(
      `INSERT INTO ${this.t('migrations')} (project, version, description, checksum, deployment_id) VALUES (${this.p(1)}, ${this.p(2)}, ${this.p(3)}, ${this.p(4)}, ${this.p(5)})`,
      [project, version, description, checksum, deploymentId],
    );
  }

  async forgetMigration(project: string, version: string, conn: Connection = this.conn): Promise<void> {
    await conn.query(`DELETE FROM ${this.t('migrations')} WHERE project = ${this.p(1)} AND version = ${this.p(2)}`, [project, version]);
  }

  async finishDeployment(
    id: number,
    status: Exclude<DeploymentStatus, 'running' | 'interrupted'>,
    error: string | null,
    failedStatement: string | null,
    summary: DeploymentSummary = {},
  ): Promise<void> {
    await this.conn.query(
      `UPDATE ${this.t('deployments')} SET status = ${this.p(1)}, error = ${this.p(2)}, failed_statement = ${this.p(3)}, summary = ${this.p(4)}, finished_at = ${this.dialect.now} WHERE id = ${this.p(5)}`,
      [status, error, failedStatement, JSON.stringify(summary), id],
    );
  }

  /**
   * Mark deployments still `running` as `interrupted`. Call it under the deployment lock: a deployment that holds
   * no lock cannot be running, so those rows belong to processes that died (killed, crashed, lost connection).
   * Returns their ids. Their committed steps stay applied, as the steps table says; the next deployment resumes.
   */
  async markInterrupted(byDeployment: string): Promise<number[]> {
    if (!(await this.exists())) return [];
    const r = await this.conn.query<{ id: number | string }>(`SELECT id FROM ${this.t('deployments')} WHERE status = ${this.p(1)} ORDER BY id`, ['running']);
    const ids = r.rows.map((row) => Number(row.id));
    for (const id of ids) {
      await this.conn.query(
        `UPDATE ${this.t('deployments')} SET status = ${this.p(1)}, error = ${this.p(2)}, finished_at = ${this.dialect.now} WHERE id = ${this.p(3)} AND status = ${this.p(4)}`,
        [
          'interrupted',
          `interrupted: the process ended before the deployment finished (found by ${byDeployment}); the steps recorded as applied committed, the others did not run or were rolled back`,
          id,
          'running',
        ],
      );
    }
    return ids;
  }

  /** Ids of deployments left `running` (read only: what a dry run reports). */
  async runningDeployments(): Promise<number[]> {
    if (!(await this.exists())) return [];
    const r = await this.conn.query<{ id: number | string }>(`SELECT id FROM ${this.t('deployments')} WHERE status = ${this.p(1)} ORDER BY id`, ['running']);
    return r.rows.map((row) => Number(row.id));
  }

  /** The checksum the ledger holds for an object (before a step changes it), or null. */
  async objectChecksum(project: string, objectKey: string, conn: Connection = this.conn): Promise<string | null> {
    const r = await conn.query<{ checksum: string }>(`SELECT checksum FROM ${this.t('objects')} WHERE project = ${this.p(1)} AND object_key = ${this.p(2)}`, [project, objectKey]);
    return r.rows[0]?.checksum ?? null;
  }

  /** A step of a deployment was reversed by the automatic rollback. */
  async markStepUndone(deploymentId: number, order: number, conn: Connection = this.conn): Promise<void> {
    await conn.query(`UPDATE ${this.t('steps')} SET status = ${this.p(1)} WHERE deployment_id = ${this.p(2)} AND step_order = ${this.p(3)}`, ['undone', deploymentId, order]);
    await conn.query(`UPDATE ${this.t('deployments')} SET steps_applied = steps_applied - 1 WHERE id = ${this.p(1)}`, [deploymentId]);
  }

  /** Remember a backup kept by the conflict strategy `rename`; retained until someone drops it (no expiry yet). */
  async recordBackup(deploymentId: number, objectKey: string, backupName: string, conn: Connection = this.conn): Promise<void> {
    await conn.query(`INSERT INTO ${this.t('backups')} (deployment_id, object_key, backup_name) VALUES (${this.p(1)}, ${this.p(2)}, ${this.p(3)})`, [deploymentId, objectKey, backupName]);
  }

  /** A backup no longer exists under its name (renamed back by a rollback, or dropped). */
  async backupGone(deploymentId: number, backupName: string, conn: Connection = this.conn): Promise<void> {
    await conn.query(`UPDATE ${this.t('backups')} SET dropped_at = ${this.dialect.now} WHERE deployment_id = ${this.p(1)} AND backup_name = ${this.p(2)}`, [deploymentId, backupName]);
  }

  async backups(deploymentId: number): Promise<BackupRow[]> {
    if (!(await this.exists())) return [];
    const r = await this.conn.query<BackupRow>(
      `SELECT id, deployment_id, object_key, backup_name, created_at, retain_until, dropped_at FROM ${this.t('backups')} WHERE deployment_id = ${this.p(1)} ORDER BY id`,
      [deploymentId],
    );
    return r.rows.map((row) => ({ ...row, id: Number(row.id), deployment_id: Number(row.deployment_id) }));
  }

  async deployments(project: string, environment: string, limit = 20): Promise<DeploymentRow[]> {
    if (!(await this.exists())) return [];
    const r = await this.conn.query<DeploymentRow>(
      `SELECT id, project, environment, kind, status, started_at, finished_at, steps_total, steps_applied, db_user, os_user, host, git_commit, package, error, reverts, summary
         FROM ${this.t('deployments')} WHERE project = ${this.p(1)} AND environment = ${this.p(2)} ORDER BY id DESC`,
      [project, environment],
    );
    return r.rows.slice(0, limit).map((row) => ({ ...row, id: Number(row.id) }));
  }
}
