import type { LedgerDialect } from '@dbee/core';
import { quoteString } from '../parse/teradata-identifiers';
import { lockTableDdl } from './teradata-ledger';

/** A step row's status, as core's `StepStatus` writes it. */
type StepStatus = 'applied' | 'started';

/**
 * The ledger as a BTEQ script reads it at run time: each question the script asks of the ledger's tables (is this step
 * done, is this backup open, does another release hold this id), as one request with its values written in, named by
 * what it asks. The script has no variables to carry a value into a later request, so every question is a `SELECT 1
 * ... WHERE <the answer is yes>` whose activity count the script tests (`.IF ACTIVITYCOUNT`); the rows the script
 * writes come from core's own stores, recorded (`bteq/bteq.ts`, `ScriptRecorder`). The script's lock row is the
 * runner's (`lock/teradata-lock.ts`: the same table and key), written with the server's `USER` and `SESSION`.
 *
 * This is the one place outside core's stores that names the ledger's tables and columns for a script: `bteq/` keeps
 * BTEQ's control flow and names none (held by `bteq/layout.test.ts`).
 */
export class ScriptLedger {
  constructor(private readonly dialect: LedgerDialect) {}

  /**
   * The ids a script's ledger writes get where the runner asks for `MAX(id) + 1` (BTEQ has no variables to carry a
   * value read at run time into a later request): the deployment's `id`, and for backups (a unique primary index) one
   * more per backup, so that a script renaming several tables aside writes distinct rows.
   */
  static fixedIds(id: number): (sql: string) => number {
    let backups = 0;
    return (sql) => (/\bbackups\b/i.test(sql) ? id + backups++ : id);
  }

  /** `schema."table"`. */
  private t(table: string): string {
    return `${this.dialect.schema}.${this.q(table)}`;
  }

  private q(name: string): string {
    return this.dialect.quote ? this.dialect.quote(name) : name;
  }

  private is(column: string, value: string | number): string {
    return `${this.q(column)} = ${typeof value === 'number' ? value : quoteString(value)}`;
  }

  private objectRow(project: string, key: string): string {
    return `SELECT 1 FROM ${this.t('objects')} WHERE ${this.is('project', project)} AND ${this.is('object_key', key)}`;
  }

  private stepRow(deployment: number, order: number): string {
    return `${this.t('steps')} WHERE ${this.is('deployment_id', deployment)} AND ${this.is('step_order', order)}`;
  }

  /** The ledger's migrations, one list of requests per version (the dialect's). */
  get migrations(): readonly (readonly string[])[] {
    return this.dialect.migrations;
  }

  /** Whether the ledger is at `version` or later: a row of the version table (3807 before the ledger exists). */
  versionDone(version: number): string {
    return `SELECT 1 FROM ${this.t(this.dialect.versionTable ?? 'ledger_version')} WHERE ${this.is('version', version)};`;
  }

  /** The version table's row for `version`, written once its requests ran. */
  versionRecorded(version: number): string {
    return `INSERT INTO ${this.t(this.dialect.versionTable ?? 'ledger_version')} (${this.q('version')}) VALUES (${version});`;
  }

  /** A row under deployment `id` that does not meet `own` (another release's row under this id). */
  deploymentOfAnother(id: number, own: Record<string, string | number>): string {
    const mine = Object.entries(own)
      .map(([k, v]) => this.is(k, v))
      .join(' AND ');
    return `SELECT 1 FROM ${this.t('deployments')} WHERE ${this.is('id', id)} AND NOT (${mine});`;
  }

  /** Deployment `id` is recorded as succeeded. */
  deploymentSucceeded(id: number): string {
    return `SELECT 1 FROM ${this.t('deployments')} WHERE ${this.is('id', id)} AND ${this.is('status', 'succeeded')};`;
  }

  /** Deployment `id` has a row (a run of the script started it). */
  deploymentStarted(id: number): string {
    return `SELECT 1 FROM ${this.t('deployments')} WHERE ${this.is('id', id)};`;
  }

  /** Rollback `id` of deployment `deployed` has a row. */
  rollbackStarted(id: number, deployed: number): string {
    return `SELECT 1 FROM ${this.t('deployments')} WHERE ${this.is('id', id)} AND ${this.is('kind', 'rollback')} AND ${this.is('reverts', deployed)};`;
  }

  /** The ledger knows the object (at any checksum). */
  objectKnown(project: string, key: string): string {
    return `${this.objectRow(project, key)};`;
  }

  /** The ledger holds the object at `checksum`. */
  objectAt(project: string, key: string, checksum: string): string {
    return `${this.objectRow(project, key)} AND ${this.is('checksum', checksum)};`;
  }

  /** The ledger holds the object at another checksum than `checksum`. */
  objectNotAt(project: string, key: string, checksum: string): string {
    return `${this.objectRow(project, key)} AND ${this.q('checksum')} <> ${quoteString(checksum)};`;
  }

  /** The ledger holds the object at one of `checksums`. */
  objectAtOneOf(project: string, key: string, checksums: readonly string[]): string {
    return `${this.objectRow(project, key)} AND ${this.q('checksum')} IN (${checksums.map(quoteString).join(', ')});`;
  }

  /** The ledger has run migration `version` of `project`. */
  migrationRun(project: string, version: string): string {
    return `SELECT 1 FROM ${this.t('migrations')} WHERE ${this.is('project', project)} AND ${this.is('version', version)};`;
  }

  /** Step `order` of deployment `deployment` is at one of `statuses`. */
  stepIs(deployment: number, order: number, ...statuses: StepStatus[]): string {
    const status =
      statuses.length === 1
        ? this.is('status', statuses[0]!)
        : `${this.q('status')} IN (${statuses.map(quoteString).join(', ')})`;
    return `SELECT 1 FROM ${this.stepRow(deployment, order)} AND ${status};`;
  }

  /** Step `order` of deployment `deployment` changed an object the ledger had (its row has a previous checksum). */
  stepChangedObject(deployment: number, order: number): string {
    return `SELECT 1 FROM ${this.stepRow(deployment, order)} AND ${this.q('previous_checksum')} IS NOT NULL;`;
  }

  /**
   * Step `order` of deployment `deployment` is applied and changed an object the ledger had from another checksum than
   * `captured` (any, when `captured` is null).
   */
  stepChangedFromOther(deployment: number, order: number, captured: string | null): string {
    const other = captured ? ` AND ${this.q('previous_checksum')} <> ${quoteString(captured)}` : '';
    return `SELECT 1 FROM ${this.stepRow(deployment, order)} AND ${this.is('status', 'applied')} AND ${this.q('previous_checksum')} IS NOT NULL${other};`;
  }

  /** Step `order` of deployment `deployment` is applied with no reverse recorded. */
  stepAppliedWithoutReverse(deployment: number, order: number): string {
    return `SELECT 1 FROM ${this.stepRow(deployment, order)} AND ${this.is('status', 'applied')} AND ${this.q('reverse_statements')} IS NULL;`;
  }

  /** Deployment `deployment` keeps a backup of `key` that is not dropped. */
  backupOpen(deployment: number, key: string): string {
    return `SELECT 1 FROM ${this.t('backups')} WHERE ${this.is('deployment_id', deployment)} AND ${this.is('object_key', key)} AND ${this.q('dropped_at')} IS NULL;`;
  }

  /** The backup row of `key` under deployment `deployment`, taken back (its rename was undone). */
  backupForgotten(deployment: number, key: string): string {
    return `DELETE FROM ${this.t('backups')} WHERE ${this.is('deployment_id', deployment)} AND ${this.is('object_key', key)};`;
  }

  /** The lock table's name, for the script's remarks. */
  get lockTable(): string {
    return this.t('lock');
  }

  /** Whether the lock table exists: a read of the `deploy` key (3807 before it does). */
  lockProbe(): string {
    return `SELECT 1 FROM ${this.t('lock')} WHERE ${this.is('lock_key', 'deploy')};`;
  }

  /** The lock table's DDL (the runner's). */
  lockTableDdl(): string {
    return lockTableDdl(this.dialect.schema);
  }

  /** The `deploy` row of a holder that died (past its expiry) or of this release (`token`: a re-run), deleted. */
  lockCleared(token: string): string {
    return `DELETE FROM ${this.t('lock')} WHERE ${this.is('lock_key', 'deploy')} AND (${this.q('expires_at')} < CURRENT_TIMESTAMP(6) OR ${this.is('owner_token', token)});`;
  }

  /** The `deploy` row taken under `token` by the logged-on user's session, for `hours` hours (2801 when held). */
  lockTaken(token: string, hours: number): string {
    const columns = [
      'lock_key',
      'owner_token',
      'owner_user',
      'owner_host',
      'owner_pid',
      'deployment_id',
      'acquired_at',
      'expires_at',
    ];
    return (
      `INSERT INTO ${this.t('lock')} (${columns.map((c) => this.q(c)).join(', ')}) ` +
      `VALUES ('deploy', ${quoteString(token)}, USER, 'bteq', SESSION, ${quoteString(token)}, CURRENT_TIMESTAMP(6), CURRENT_TIMESTAMP(6) + INTERVAL '${hours}' HOUR);`
    );
  }

  /** The expiry of this release's `deploy` row pushed `hours` hours on (no row: the lock was cleared). */
  lockRefreshed(token: string, hours: number): string {
    return `UPDATE ${this.t('lock')} SET ${this.q('expires_at')} = CURRENT_TIMESTAMP(6) + INTERVAL '${hours}' HOUR WHERE ${this.is('lock_key', 'deploy')} AND ${this.is('owner_token', token)};`;
  }

  /** This release's `deploy` row, deleted. */
  lockReleased(token: string): string {
    return `DELETE FROM ${this.t('lock')} WHERE ${this.is('lock_key', 'deploy')} AND ${this.is('owner_token', token)};`;
  }
}
