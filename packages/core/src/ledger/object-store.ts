import { rawConnection } from '../engine/session-pool';
import type { Connection } from '../engine/engine';
import { formatKey, migrationKey } from '../model/object-key';
import type { DeployedState } from '../planner/planner';
import { createdEmpty, FOLDED_KINDS } from './memory';
import { type ObjectStateRow, parseObjectStates } from './object-states';
import type { LedgerWrite, LedgerState } from './types';
import type { LedgerWriter } from './ledger-writer';

/** The rows of `objects` and `migrations`: what each project has deployed (object checksums, folded or not, and migrations run). */
export class ObjectStore {
  constructor(
    /** The writer every store of the ledger shares (connection, dialect, request batching), by reference. */
    readonly writer: LedgerWriter,
  ) {}

  async deployedState(project: string): Promise<DeployedState> {
    if (!(await this.writer.exists())) return { objects: new Map(), migrations: new Map() };
    const { objects, migrations } = await this.objectsAndMigrations(project, this.writer.conn);
    return {
      objects: objects.states.get(project) ?? new Map<string, string>(),
      migrations: new Map(migrations.map((r) => [r.version, r.checksum])),
    };
  }

  /**
   * A project's object states (`objectStates`) and its migrations' rows, read together: in one request where the
   * connection sends several queries at once (`Connection.queryMany`), else one after the other.
   */
  protected async objectsAndMigrations(
    project: string,
    conn: Connection,
  ): Promise<{
    objects: { states: Map<string, Map<string, string>>; unfolded: number[] };
    migrations: { version: string; checksum: string; description: string }[];
  }> {
    const states = this.objectStatesQuery(project);
    const migrations = {
      sql: `SELECT ${this.writer.cols('version', 'checksum', 'description')} FROM ${this.writer.t('migrations')} WHERE ${this.writer.q('project')} = ${this.writer.p(1)}`,
      params: [project],
    };
    const [a, b] = conn.queryMany
      ? await conn.queryMany([states, migrations])
      : [await conn.query(states.sql, states.params), await conn.query(migrations.sql, migrations.params)];
    return {
      objects: parseObjectStates(a!.rows as ObjectStateRow[]),
      migrations: b!.rows as { version: string; checksum: string; description: string }[],
    };
  }

  /** The keys of the objects the ledger records for `project`, in one query (none when there is no ledger). */
  async objectKeys(project: string): Promise<string[]> {
    if (!(await this.writer.exists())) return [];
    return [...((await this.objectStates(project, this.writer.conn)).states.get(project)?.keys() ?? [])];
  }

  /** `deployedState` of every project in the ledger, in two queries (an Nx batch reads it once for all its tasks). */
  async deployedStates(): Promise<Map<string, DeployedState>> {
    const out = new Map<string, DeployedState>();
    if (!(await this.writer.exists())) return out;
    const of = (project: string) => {
      let state = out.get(project) as { objects: Map<string, string>; migrations: Map<string, string> } | undefined;
      if (!state) out.set(project, (state = { objects: new Map(), migrations: new Map() }));
      return state;
    };
    for (const [project, objects] of (await this.objectStates(null, this.writer.conn)).states)
      for (const [key, checksum] of objects) of(project).objects.set(key, checksum);
    const migrations = await this.writer.conn.query<{ project: string; version: string; checksum: string }>(
      `SELECT ${this.writer.cols('project', 'version', 'checksum')} FROM ${this.writer.t('migrations')}`,
    );
    for (const r of migrations.rows) of(r.project).migrations.set(r.version, r.checksum);
    return out;
  }

  /** Whether a deployment's steps leave their objects' state to `fold` (`LedgerDialect.foldsObjects`). */
  get folds(): boolean {
    return this.writer.dialect.foldsObjects === true;
  }

  /**
   * The object checksums the ledger records (of `project`, or of every project), by project, in one query: the rows of
   * `objects`, with the applied steps of the deployments not yet folded into it (`fold`: a deployment running, or
   * whose process died before it folded) laid over them in order, a drop forgetting its object; and those
   * deployments' ids. Every reader of object states reads them here, so that it sees what per-step rows would say.
   */
  protected async objectStates(
    project: string | null,
    conn: Connection,
  ): Promise<{ states: Map<string, Map<string, string>>; unfolded: number[] }> {
    const { sql, params } = this.objectStatesQuery(project);
    return parseObjectStates((await conn.query<ObjectStateRow>(sql, params)).rows);
  }

  /** The query of `objectStates`. */
  protected objectStatesQuery(project: string | null): { sql: string; params: unknown[] } {
    const params: unknown[] = project === null ? [] : [project];
    let sql = `SELECT ${this.writer.cols('project', 'object_key', 'checksum')}${this.folds ? ', NULL AS deployment_id, NULL AS step_order, NULL AS action' : ''} FROM ${this.writer.t('objects')}${project === null ? '' : ` WHERE ${this.writer.q('project')} = ${this.writer.p(1)}`}`;
    if (this.folds) {
      sql += ` UNION ALL SELECT ${this.writer.ac('d', 'project')}, ${this.writer.ac('s', 'object_key')}, ${this.writer.ac('s', 'checksum')}, ${this.writer.ac('s', 'deployment_id')}, ${this.writer.ac('s', 'step_order')}, ${this.writer.ac('s', 'action')}
        FROM ${this.writer.t('steps')} s, ${this.writer.t('deployments')} d WHERE ${this.unfolded('d', params)}${project === null ? '' : ` AND ${this.writer.ac('d', 'project')} = ${this.writer.p(1)}`}
          AND ${this.writer.ac('s', 'deployment_id')} = ${this.writer.ac('d', 'id')} AND ${this.writer.ac('s', 'status')} = ${this.writer.p(params.push('applied'))} AND ${this.writer.ac('s', 'action')} <> ${this.writer.p(params.push('migrate'))}`;
    }
    return { sql, params };
  }

  /**
   * The condition on deployment rows `alias` that selects those whose applied steps are not folded into `objects`:
   * a deployment of a plan (kind `deploy` or `clone`: its steps wrote no `objects` rows) still `running`, and whose
   * `steps_applied` the fold has not set (it is 0 until the deployment closes or is folded). Its parameters are
   * pushed onto `params`.
   */
  protected unfolded(alias: string, params: unknown[]): string {
    const kinds = FOLDED_KINDS.map((k) => this.writer.p(params.push(k))).join(', ');
    return `${this.writer.ac(alias, 'status')} = ${this.writer.p(params.push('running'))} AND ${this.writer.ac(alias, 'steps_applied')} = 0 AND ${this.writer.ac(alias, 'kind')} IN (${kinds})`;
  }

  /**
   * Bring `objects` up to date with the applied steps of deployment `deploymentId` (its steps write no
   * `objects` rows: `LedgerDialect.foldsObjects`), in one transaction: each object's last applied step sets its
   * checksum, or forgets it when that step dropped it, and the deployment's `steps_applied` is counted, which marks it
   * folded. A deployment already folded, or not of a plan, is left as it is: folding again is harmless. The deployment
   * folds itself when it ends (before its smoke checks read the objects); the next lock holder folds one whose process
   * died first (`Deployment.open`, `markInterrupted`).
   */
  async fold(deploymentId: number, conn: Connection = this.writer.conn): Promise<void> {
    const writes = this.foldWrites(deploymentId);
    if (this.writer.inlines && conn.executeBatch) {
      const r = await conn.executeBatch(['BEGIN', ...this.writer.inlineAll(writes), 'COMMIT']);
      if (r.error) {
        await conn.execute('ROLLBACK').catch(() => {});
        throw r.error;
      }
      return;
    }
    await conn.transaction((c) => this.writer.run(writes, c));
  }

  /** The writes of `fold`: the upsert of the objects the deployment's steps left, the delete of those they dropped, the count. */
  foldWrites(deploymentId: number): LedgerWrite[] {
    const upsert = this.writer.dialect.upsertObject;
    if (!upsert) throw new Error(`the ${this.writer.dialect.schema} ledger dialect folds no objects (no upsertObject)`);
    // Each object's last applied step of the deployment, while it is not folded (the guard makes the fold run once).
    const last = (params: unknown[]) => {
      const guard = this.unfolded('d', params);
      return `(SELECT ${this.writer.ac('d', 'project')}, ${this.writer.ac('d', 'id')}, ${this.writer.ac('s', 'object_key')}, ${this.writer.ac('s', 'checksum')}, ${this.writer.ac('s', 'action')}, row_number() OVER (PARTITION BY ${this.writer.ac('s', 'object_key')} ORDER BY ${this.writer.ac('s', 'step_order')} DESC) AS ${this.writer.q('n')}
         FROM ${this.writer.t('steps')} s, ${this.writer.t('deployments')} d WHERE ${this.writer.ac('d', 'id')} = ${this.writer.p(params.push(deploymentId))} AND ${guard}
           AND ${this.writer.ac('s', 'deployment_id')} = ${this.writer.ac('d', 'id')} AND ${this.writer.ac('s', 'status')} = ${this.writer.p(params.push('applied'))} AND ${this.writer.ac('s', 'action')} <> ${this.writer.p(params.push('migrate'))}) x`;
    };
    const up: unknown[] = [];
    const upFrom = last(up);
    const del: unknown[] = [];
    const delFrom = last(del);
    const count: unknown[] = [];
    const countGuard = this.unfolded('d', count);
    return [
      {
        sql: `INSERT INTO ${this.writer.t('objects')} (${this.writer.cols('project', 'object_key', 'checksum', 'deployment_id')})
          SELECT ${this.writer.ac('x', 'project')}, ${this.writer.ac('x', 'object_key')}, ${this.writer.ac('x', 'checksum')}, ${this.writer.ac('x', 'id')} FROM ${upFrom}
          WHERE ${this.writer.ac('x', 'n')} = 1 AND ${this.writer.ac('x', 'action')} <> ${this.writer.p(up.push('drop'))} ${upsert(['checksum', 'deployment_id', 'updated_at'].map((c) => this.writer.q(c)))}`,
        params: up,
        table: 'objects',
      },
      {
        sql: `DELETE FROM ${this.writer.t('objects')} WHERE (${this.writer.cols('project', 'object_key')}) IN
          (SELECT ${this.writer.ac('x', 'project')}, ${this.writer.ac('x', 'object_key')} FROM ${delFrom} WHERE ${this.writer.ac('x', 'n')} = 1 AND ${this.writer.ac('x', 'action')} = ${this.writer.p(del.push('drop'))})`,
        params: del,
        table: 'objects',
      },
      {
        sql: `UPDATE ${this.writer.t('deployments')} d SET ${this.writer.q('steps_applied')} = ${this.writer.appliedCount(count.push(deploymentId), count.push('applied'))}
          WHERE ${this.writer.ac('d', 'id')} = ${this.writer.p(count.push(deploymentId))} AND ${countGuard}`,
        params: count,
        table: 'deployments',
      },
    ];
  }

  /** Remember the object's new checksum (or forget it when it was dropped or undone). */
  async setObjectState(
    project: string,
    objectKey: string,
    checksum: string | null,
    deploymentId: number,
    conn: Connection = this.writer.conn,
  ): Promise<void> {
    await this.writer.run(this.objectStateWrites(project, objectKey, checksum, deploymentId), conn);
  }

  /** The writes of `setObjectState`. */
  objectStateWrites(project: string, objectKey: string, checksum: string | null, deploymentId: number): LedgerWrite[] {
    const insert: LedgerWrite = {
      sql: `INSERT INTO ${this.writer.t('objects')} (${this.writer.cols('project', 'object_key', 'checksum', 'deployment_id')}) VALUES (${this.writer.params(4)})`,
      params: [project, objectKey, checksum, deploymentId],
      table: 'objects',
    };
    const upsert = this.writer.dialect.upsertObject;
    if (checksum !== null && upsert)
      return [
        {
          ...insert,
          sql: `${insert.sql} ${upsert(['checksum', 'deployment_id', 'updated_at'].map((c) => this.writer.q(c)))}`,
        },
      ];
    const writes: LedgerWrite[] = [
      {
        sql: `DELETE FROM ${this.writer.t('objects')} WHERE ${this.writer.q('project')} = ${this.writer.p(1)} AND ${this.writer.q('object_key')} = ${this.writer.p(2)}`,
        params: [project, objectKey],
        table: 'objects',
      },
    ];
    if (checksum !== null) writes.push(insert);
    return writes;
  }

  /**
   * The object's state put back, under `deploymentId`, to what it was before step `undone.order` of deployment
   * `undone.deploymentId`: that step's row's previous checksum, read as the write runs (none: the object is forgotten).
   * For a writer that cannot read the row first: a BTEQ script, written before the step it undoes ran.
   */
  stateBeforeStepWrites(
    project: string,
    objectKey: string,
    deploymentId: number,
    undone: { deploymentId: number; order: number },
  ): LedgerWrite[] {
    const w = this.writer;
    const where = `${w.q('deployment_id')} = ${w.p(4)} AND ${w.q('step_order')} = ${w.p(5)} AND ${w.q('previous_checksum')} IS NOT NULL`;
    return [
      ...this.objectStateWrites(project, objectKey, null, deploymentId),
      {
        sql: `INSERT INTO ${w.t('objects')} (${w.cols('project', 'object_key', 'checksum', 'deployment_id')}) SELECT ${w.params(2)}, ${w.q('previous_checksum')}, ${w.p(3)} FROM ${w.t('steps')} WHERE ${where}`,
        params: [project, objectKey, deploymentId, undone.deploymentId, undone.order],
        table: 'objects',
      },
    ];
  }

  async recordMigration(
    project: string,
    version: string,
    description: string,
    checksum: string,
    deploymentId: number,
    conn: Connection = this.writer.conn,
  ): Promise<void> {
    await this.writer.run(this.migrationWrites(project, version, description, checksum, deploymentId), conn);
  }

  /** The writes of `recordMigration`. */
  migrationWrites(
    project: string,
    version: string,
    description: string,
    checksum: string,
    deploymentId: number,
  ): LedgerWrite[] {
    return [
      {
        sql: `INSERT INTO ${this.writer.t('migrations')} (${this.writer.cols('project', 'version', 'description', 'checksum', 'deployment_id')}) VALUES (${this.writer.params(5)})`,
        params: [project, version, description, checksum, deploymentId],
        table: 'migrations',
      },
    ];
  }

  async forgetMigration(project: string, version: string, conn: Connection = this.writer.conn): Promise<void> {
    await this.writer.run(this.forgetMigrationWrites(project, version, await this.keepsBackfills(conn)), conn);
  }

  /** Whether this ledger has a table of batched migrations' backfills (`LedgerDialect.backfills`). */
  protected async keepsBackfills(conn: Connection): Promise<boolean> {
    return !!this.writer.dialect.backfills && (await this.writer.hasTable(this.writer.dialect.backfills, conn));
  }

  /** The writes of `forgetMigration`; `backfills`: whether the ledger has the backfills' table (`keepsBackfills`). */
  protected forgetMigrationWrites(project: string, version: string, backfills: boolean): LedgerWrite[] {
    const writes: LedgerWrite[] = [
      {
        sql: `DELETE FROM ${this.writer.t('migrations')} WHERE ${this.writer.q('project')} = ${this.writer.p(1)} AND ${this.writer.q('version')} = ${this.writer.p(2)}`,
        params: [project, version],
        table: 'migrations',
      },
    ];
    // A batched migration's backfills (ids `<migration key>#<n>`) go with it: applied again, it runs whole again.
    if (backfills && this.writer.dialect.backfills) {
      const prefix = `${formatKey(migrationKey(project, version))}#`;
      writes.push({
        sql: `DELETE FROM ${this.writer.t(this.writer.dialect.backfills)} WHERE substr(${this.writer.q('id')}, 1, ${this.writer.p(1)}) = ${this.writer.p(2)}`,
        params: [prefix.length, prefix],
        table: this.writer.dialect.backfills,
      });
    }
    return writes;
  }

  /** The checksum the ledger holds for an object (before a step changes it), or null. */
  async objectChecksum(
    project: string,
    objectKey: string,
    conn: Connection = this.writer.conn,
  ): Promise<string | null> {
    if (this.folds) return (await this.objectStates(project, conn)).states.get(project)?.get(objectKey) ?? null;
    const r = await conn.query<{ checksum: string }>(
      `SELECT ${this.writer.q('checksum')} FROM ${this.writer.t('objects')} WHERE ${this.writer.q('project')} = ${this.writer.p(1)} AND ${this.writer.q('object_key')} = ${this.writer.p(2)}`,
      [project, objectKey],
    );
    return r.rows[0]?.checksum ?? null;
  }

  /** A migration as the ledger records it, or null when it is not applied. */
  async migration(
    project: string,
    version: string,
    conn: Connection = this.writer.conn,
  ): Promise<{ checksum: string; description: string } | null> {
    const r = await conn.query<{ checksum: string; description: string }>(
      `SELECT ${this.writer.cols('checksum', 'description')} FROM ${this.writer.t('migrations')} WHERE ${this.writer.q('project')} = ${this.writer.p(1)} AND ${this.writer.q('version')} = ${this.writer.p(2)}`,
      [project, version],
    );
    return r.rows[0] ?? null;
  }

  /** What the ledger says a project has deployed: every object checksum and migration. */
  async state(project: string, conn: Connection = this.writer.conn): Promise<LedgerState> {
    return (await this.stateAndUnfolded(project, conn)).state;
  }

  /**
   * `state`, and the ids of the project's deployments whose applied steps it laid over `objects` because they are not
   * folded yet (`fold`): under the deployment lock, those belong to processes that died.
   */
  async stateAndUnfolded(
    project: string,
    conn: Connection = this.writer.conn,
  ): Promise<{ state: LedgerState; unfolded: number[] }> {
    if (createdEmpty.get(rawConnection(conn))?.has(this.writer.versionTable))
      return { state: { objects: {}, migrations: {} }, unfolded: [] };
    const { objects, migrations } = await this.objectsAndMigrations(project, conn);
    return {
      state: {
        objects: Object.fromEntries(objects.states.get(project) ?? []),
        migrations: Object.fromEntries(
          migrations.map((r) => [r.version, { checksum: r.checksum, description: r.description }]),
        ),
      },
      unfolded: objects.unfolded,
    };
  }

  /**
   * Replace a project's ledger state (objects and migrations) by `state`, attributing what changes to
   * `deploymentId`. Rows that stay the same are left alone.
   */
  async replaceState(
    project: string,
    state: LedgerState,
    deploymentId: number,
    conn: Connection = this.writer.conn,
  ): Promise<void> {
    const now = await this.state(project, conn);
    const forgotten = Object.entries(now.migrations).filter(
      ([version, m]) => state.migrations[version]?.checksum !== m.checksum,
    );
    const backfills = forgotten.length > 0 && (await this.keepsBackfills(conn));
    // In one request where the ledger writes SQL text (a rollback to a git ref can change every object's state).
    await this.writer.runTogether(
      [
        ...this.objectStatesWrites(project, new Map(Object.entries(now.objects)), state.objects, deploymentId),
        ...forgotten.flatMap(([version]) => this.forgetMigrationWrites(project, version, backfills)),
        ...Object.entries(state.migrations)
          .filter(([version, m]) => now.migrations[version]?.checksum !== m.checksum)
          .flatMap(([version, m]) => this.migrationWrites(project, version, m.description, m.checksum, deploymentId)),
      ],
      conn,
    );
  }

  /**
   * The writes that take a project's object states from `now` to `states`, attributed to `deploymentId`: an object
   * `states` does not have is forgotten, a new or changed one recorded (one write each), one that stays the same left
   * alone.
   */
  objectStatesWrites(
    project: string,
    now: ReadonlyMap<string, string>,
    states: Readonly<Record<string, string>>,
    deploymentId: number,
  ): LedgerWrite[] {
    return [
      ...[...now.keys()]
        .filter((key) => !Object.hasOwn(states, key))
        .flatMap((key) => this.objectStateWrites(project, key, null, deploymentId)),
      ...Object.entries(states)
        .filter(([key, checksum]) => now.get(key) !== checksum)
        .flatMap(([key, checksum]) => this.objectStateWrites(project, key, checksum, deploymentId)),
    ];
  }
}
