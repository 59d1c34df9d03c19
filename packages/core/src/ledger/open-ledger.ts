import type { Connection, LedgerDialect } from '../engine/engine';
import { BackupStore } from './backup-store';
import { DeploymentStore } from './deployment-store';
import type { Ledger } from './ledger';
import { LedgerWriter } from './ledger-writer';
import { ObjectStore } from './object-store';
import { ReleaseStore } from './release-store';
import { StepStore } from './step-store';

/**
 * The ledger of one session: the one place that builds it, its stores sharing one writer (the connection, the dialect
 * and the request batching) by reference. Callers keep the `Ledger` they get, or the stores they need, for the
 * session's duration.
 */
export function openLedger(conn: Connection, dialect: LedgerDialect): Ledger {
  const writer = new LedgerWriter(conn, dialect);
  const objects = new ObjectStore(writer);
  return {
    tables: writer,
    batch: writer,
    objects,
    deployments: new DeploymentStore(writer, objects),
    steps: new StepStore(writer),
    backups: new BackupStore(writer),
    releases: new ReleaseStore(writer),
  };
}
