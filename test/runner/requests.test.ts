import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { dbYaml, ENGINES, snapshot, workspaceWith, workspaceYaml, type TestWorkspace } from './helpers';

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});
const keep = (w: TestWorkspace) => (workspaces.push(w), w);

/**
 * Project `many`: a schema and `n` tables t001..tNNN (one file each, in name order); table `broken` references a
 * type that does not exist, so its CREATE fails. The runner sends up to 100 steps per request: these plans have
 * several steps per request, a failure in the middle of one, and (n > 100) a transaction that spans requests.
 */
function many(n: number, broken: number | null, _environment = ''): Record<string, string> {
  const files: Record<string, string> = {
    'dbee.yaml': '',
    'many/db.yaml': dbYaml('many'),
    'many/a_schema.sql': 'CREATE SCHEMA many;\n',
  };
  for (let i = 1; i <= n; i++) {
    const name = `t${String(i).padStart(3, '0')}`;
    files[`many/${name}.sql`] =
      `CREATE TABLE many.${name} (id int PRIMARY KEY, v ${i === broken ? 'no_such_type' : 'text'});\nCOMMENT ON TABLE many.${name} IS 'table ${i}';\n`;
  }
  return files;
}

type StepRow = {
  step_order: number;
  object_key: string;
  status: string;
  duration_ms: number | null;
  started_at: Date | null;
};
const steps = (w: TestWorkspace, deployment: number) =>
  w.target.query<StepRow>(
    'SELECT step_order, object_key, status, duration_ms, started_at FROM dbee.steps WHERE deployment_id = $1 ORDER BY step_order',
    [deployment],
  );
const tables = async (w: TestWorkspace) =>
  (
    await w.target.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'many' ORDER BY 1")
  ).map((r) => r.t);

describe.each(ENGINES)('steps sent many to a request, with their ledger rows [%s]', (engine) => {
  it('transaction: object, a failure in the middle of a request: the steps before it committed with their rows, it failed, the rest never ran; a re-run resumes', async () => {
    const files = many(12, 8);
    const w = keep(
      await workspaceWith(engine, {
        ...files,
        'dbee.yaml': workspaceYaml(engine, { environment: 'deploy:\n  smokeAfterDeploy: false' }),
      }),
    );
    const r = await run(w.root, 'deploy', { project: 'many' }, w.target.vars);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('many/t008.sql:1');
    expect(r.stderr).toContain('type "no_such_type" does not exist');
    // Step 1 is the schema, steps 2..13 the tables t001..t012: t008 is step 9.
    const rows = await steps(w, 1);
    expect(rows.map((s) => [s.step_order, s.status])).toEqual([
      [1, 'applied'],
      [2, 'applied'],
      [3, 'applied'],
      [4, 'applied'],
      [5, 'applied'],
      [6, 'applied'],
      [7, 'applied'],
      [8, 'applied'],
      [9, 'failed'],
    ]);
    // Each applied row has its own start and duration, taken by the server (or the client) as the step ran.
    for (const s of rows.slice(0, 8)) {
      expect(s.duration_ms).not.toBeNull();
      expect(s.started_at).not.toBeNull();
    }
    expect(await tables(w)).toEqual(['t001', 't002', 't003', 't004', 't005', 't006', 't007']);
    expect(await w.target.query("SELECT count(*)::int AS n FROM dbee.objects WHERE project = 'many'")).toEqual([
      { n: 8 },
    ]);
    expect(await w.target.query('SELECT status, steps_applied FROM dbee.deployments')).toEqual([
      { status: 'failed', steps_applied: 8 },
    ]);
    expect(await w.target.query("SELECT obj_description('many.t007'::regclass) AS c")).toEqual([{ c: 'table 7' }]);

    w.write(
      'many/t008.sql',
      "CREATE TABLE many.t008 (id int PRIMARY KEY, v text);\nCOMMENT ON TABLE many.t008 IS 'table 8';\n",
    );
    const again = await run(w.root, 'deploy', { project: 'many' }, w.target.vars);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/many: deploying 5 steps/);
    expect((await tables(w)).length).toBe(12);
    expect(await w.target.query('SELECT id::int, status, steps_applied FROM dbee.deployments ORDER BY id')).toEqual([
      { id: 1, status: 'failed', steps_applied: 8 },
      { id: 2, status: 'succeeded', steps_applied: 5 },
    ]);
  });

  it('transaction: project over more steps than a request holds: one transaction across requests; a failure rolls all of it back', async () => {
    const w = keep(
      await workspaceWith(engine, {
        ...many(130, 120),
        'dbee.yaml': workspaceYaml(engine, {
          environment: 'deploy:\n  transaction: project\n  smokeAfterDeploy: false',
        }),
      }),
    );
    const before = await snapshot(w.target, { withLedger: false });
    const r = await run(w.root, 'deploy', { project: 'many' }, w.target.vars);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('many/t120.sql:1');
    const rows = await steps(w, 1);
    expect(rows).toHaveLength(131);
    // Steps 1..120 (schema, t001..t119) ran in the transaction, step 121 (t120) failed, the rest were never reached.
    expect(rows.slice(0, 120).every((s) => s.status === 'rolled-back')).toBe(true);
    expect(rows[120]!.status).toBe('failed');
    expect(rows.slice(121).every((s) => s.status === 'skipped')).toBe(true);
    expect((await snapshot(w.target, { withLedger: false })).catalog).toEqual(before.catalog);
    expect(await w.target.query("SELECT count(*)::int AS n FROM dbee.objects WHERE project = 'many'")).toEqual([
      { n: 0 },
    ]);

    w.write('many/t120.sql', 'CREATE TABLE many.t120 (id int PRIMARY KEY, v text);\n');
    const again = await run(w.root, 'deploy', { project: 'many' }, w.target.vars);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect((await tables(w)).length).toBe(130);
    expect(await w.target.query("SELECT count(*)::int AS n FROM dbee.objects WHERE project = 'many'")).toEqual([
      { n: 131 },
    ]);
    expect(
      await w.target.query("SELECT count(*)::int AS n FROM dbee.steps WHERE deployment_id = 2 AND status = 'applied'"),
    ).toEqual([{ n: 131 }]);
  });
  it("a step's previous checksum is the object's ledger state before it (written as a literal in the request)", async () => {
    const files = {
      'dbee.yaml': workspaceYaml(engine, { environment: 'deploy:\n  smokeAfterDeploy: false' }),
      'many/db.yaml': dbYaml('many'),
      'many/a_schema.sql': 'CREATE SCHEMA many;\n',
      'many/t.sql': 'CREATE TABLE many.t (id int PRIMARY KEY, v text);\n',
      'many/v1.sql': 'CREATE VIEW many.v1 AS SELECT id FROM many.t;\n',
      'many/v2.sql': 'CREATE VIEW many.v2 AS SELECT id, v FROM many.t;\n',
    };
    const w = keep(await workspaceWith(engine, files));
    expect((await run(w.root, 'deploy', { project: 'many' }, w.target.vars)).code).toBe(0);
    type Row = { object_key: string; previous_checksum: string | null; checksum: string };
    const rowsOf = (id: number) =>
      w.target.query<Row>(
        'SELECT object_key, previous_checksum, checksum FROM dbee.steps WHERE deployment_id = $1 ORDER BY step_order',
        [id],
      );
    // First deployment: nothing was recorded before.
    expect((await rowsOf(1)).map((r) => [r.object_key, r.previous_checksum])).toEqual([
      ['schema:many', null],
      ['table:many.t', null],
      ['view:many.v1', null],
      ['view:many.v2', null],
    ]);
    const before = new Map(
      (
        await w.target.query<{ object_key: string; checksum: string }>(
          "SELECT object_key, checksum FROM dbee.objects WHERE project = 'many'",
        )
      ).map((r) => [r.object_key, r.checksum]),
    );
    w.write('many/v1.sql', 'CREATE VIEW many.v1 AS SELECT id, 1 AS one FROM many.t;\n');
    w.write('many/v2.sql', 'CREATE VIEW many.v2 AS SELECT id, v, 2 AS two FROM many.t;\n');
    const again = await run(w.root, 'deploy', { project: 'many' }, w.target.vars);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    const rows = await rowsOf(2);
    expect(rows.map((r) => r.object_key)).toEqual(['view:many.v1', 'view:many.v2']);
    for (const r of rows) {
      expect(r.previous_checksum).toBe(before.get(r.object_key));
      expect(r.previous_checksum).not.toBe(r.checksum);
    }
  });
});

describe('the ledger rows of steps in requests [postgres]', () => {
  it('are one statement the session keeps: defined once per session, then run per step with its values (the rows as before)', async () => {
    const { PgConnection } = await import('@dbee/postgres');
    const proto = PgConnection.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const sent: string[] = [];
    const saved = { execute: proto.execute!, executeBatch: proto.executeBatch! };
    proto.execute = function (this: unknown, ...a: unknown[]) {
      sent.push(String(a[0]));
      return saved.execute.apply(this, a);
    };
    proto.executeBatch = function (this: unknown, ...a: unknown[]) {
      sent.push(...(a[0] as string[]));
      return saved.executeBatch.apply(this, a);
    };
    try {
      const w = keep(
        await workspaceWith('postgres', {
          ...many(30, null),
          'dbee.yaml': workspaceYaml('postgres', { environment: 'deploy:\n  smokeAfterDeploy: false' }),
        }),
      );
      const r = await run(w.root, 'deploy', { project: 'many' }, w.target.vars);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      // 31 steps (the schema, 30 tables) of one shape: defined once, run 31 times; no row written as a literal.
      expect(sent.filter((s) => s.startsWith('PREPARE dbee_ledger_'))).toHaveLength(1);
      expect(sent.filter((s) => s.startsWith('EXECUTE dbee_ledger_'))).toHaveLength(31);
      expect(sent.filter((s) => s.includes('INSERT INTO dbee.steps') && !s.startsWith('PREPARE'))).toEqual([]);
      // No running count per step on the deployment's row: it is counted once, when the deployment closes.
      expect(sent.filter((s) => s.startsWith('PREPARE dbee_ledger_'))[0]).not.toContain('UPDATE dbee.deployments');
      const rows = await steps(w, 1);
      expect(rows.map((s) => s.status)).toEqual(Array(31).fill('applied'));
      for (const s of rows) expect(s.started_at).not.toBeNull();
      expect(await w.target.query("SELECT count(*)::int AS n FROM dbee.objects WHERE project = 'many'")).toEqual([
        { n: 31 },
      ]);
      expect(await w.target.query('SELECT steps_applied FROM dbee.deployments WHERE id = 1')).toEqual([
        { steps_applied: 31 },
      ]);
    } finally {
      Object.assign(proto, saved);
    }
  });
});

describe('a rollback step of many statements [postgres]', () => {
  /** t, and views v1 <- v2 <- v3 over it; the release widens v1 (a column added), so putting it back drops and creates the chain. */
  const chain = (wide: boolean): Record<string, string> => ({
    'c/db.yaml': dbYaml('c'),
    'c/a_schema.sql': 'CREATE SCHEMA c;\nCREATE TABLE c.t (id int PRIMARY KEY);\n',
    'c/v1.sql': `CREATE OR REPLACE VIEW c.v1 AS SELECT id${wide ? ', 1 AS x' : ''} FROM c.t;\n`,
    'c/v2.sql': 'CREATE OR REPLACE VIEW c.v2 AS SELECT id FROM c.v1;\n',
    'c/v3.sql': 'CREATE OR REPLACE VIEW c.v3 AS SELECT id FROM c.v2;\n',
  });

  it('goes to the server in one request, in its transaction; a failing statement of it is the one named, and nothing of it stays', async () => {
    const { PgConnection } = await import('@dbee/postgres');
    const proto = PgConnection.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const sent: string[][] = [];
    const saved = { execute: proto.execute!, executeBatch: proto.executeBatch! };
    proto.execute = function (this: unknown, ...a: unknown[]) {
      sent.push([String(a[0])]);
      return saved.execute.apply(this, a);
    };
    proto.executeBatch = function (this: unknown, ...a: unknown[]) {
      sent.push(a[0] as string[]);
      return saved.executeBatch.apply(this, a);
    };
    try {
      const w = keep(await workspaceWith('postgres', chain(false)));
      const first = await run(w.root, 'deploy', { project: 'c' }, w.target.vars);
      expect(first.code, first.stdout + first.stderr).toBe(0);
      const before = await snapshot(w.target, { withLedger: false });
      for (const [rel, text] of Object.entries(chain(true))) w.write(rel, text);
      const release = await run(w.root, 'deploy', { project: 'c' }, w.target.vars);
      expect(release.code, release.stdout + release.stderr).toBe(0);

      // Something outside dbee's schemas stands on v2: the step's second statement (dropping v2) fails.
      await w.target.query('CREATE SCHEMA outside; CREATE VIEW outside.o AS SELECT id FROM c.v2');
      const failed = await run(w.root, 'rollback', { project: 'c' }, w.target.vars);
      expect(failed.code, failed.stdout + failed.stderr).toBe(2);
      expect(failed.stdout + failed.stderr).toMatch(/DROP VIEW c\.v2/);
      expect(failed.stdout + failed.stderr).toMatch(/other objects depend on it/);
      // Nothing of the step stayed: v3, dropped by its first statement, is there.
      expect(await w.target.query("SELECT to_regclass('c.v3') IS NOT NULL AS here")).toEqual([{ here: true }]);
      await w.target.query('DROP SCHEMA outside CASCADE');

      sent.length = 0;
      const r = await run(w.root, 'rollback', { project: 'c' }, w.target.vars);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      // The step that puts v1 back: the views over it dropped, v1 put back, the views created again, in one request.
      const step = sent.filter((req) => req.some((s) => /^DROP VIEW c\.v1\b/.test(s)));
      expect(step).toHaveLength(1);
      expect(step[0]!.some((s) => /^CREATE VIEW c\.v3 AS/.test(s))).toBe(true);
      expect(sent.filter((req) => req.length === 1 && /^(DROP|CREATE) VIEW/.test(req[0]!))).toEqual([]);
      expect((await snapshot(w.target, { withLedger: false })).catalog).toEqual(before.catalog);
    } finally {
      Object.assign(proto, saved);
    }
  });
});
