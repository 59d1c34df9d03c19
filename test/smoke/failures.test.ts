import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';
import { TARGETS, type Target } from './targets';

// These checks fail on purpose: deploy must not run them itself (smoke-test is what is under test here).
const DBEE_YAML = `version: 1
defaultEnvironment: local
deploy: { smokeAfterDeploy: false }
environments:
  local:
    engine: postgres
    connection:
      embedded: .dbee/local
  test:
    engine: postgres
    connection:
      url: \${DBEE_TEST_URL}
`;

/** A project whose objects can make checks pass or fail on demand. */
const SHOP = {
  'shop/db.yaml': 'version: 1\nname: shop\nengine: postgres\nschemas: [shop]\n',
  'shop/schema/shop.sql': `CREATE SCHEMA shop;
CREATE TABLE shop.items (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
CREATE VIEW shop.answer AS SELECT 42 AS n, 'forty-two'::text AS word;
CREATE FUNCTION shop.noisy() RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
  RAISE WARNING 'stock is running low';
  RETURN 1;
END;
$$;
CREATE FUNCTION shop.chatty(p integer) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'just saying %', p;
  RAISE INFO 'for your information';
  RETURN p;
END;
$$;
CREATE PROCEDURE shop.add_item(p_name text) LANGUAGE sql AS $$ INSERT INTO shop.items (name) VALUES (p_name) $$;
`,
};

/**
 * A view over a function that raises: it is created without complaint (a view stores its query, it does not run
 * it), but every query on it fails. The function is immutable, so PostgreSQL evaluates it while planning, even
 * under LIMIT 0.
 */
const LEGACY = {
  'legacy/db.yaml': 'version: 1\nname: legacy\nengine: postgres\nschemas: [legacy]\n',
  'legacy/schema.sql': `CREATE SCHEMA legacy;
CREATE FUNCTION legacy.rate() RETURNS numeric LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RAISE EXCEPTION 'exchange rate service retired';
END;
$$;
CREATE VIEW legacy.prices AS SELECT 1 AS id, legacy.rate() AS rate;
`,
};

/**
 * A project whose deployment runs its smoke checks (the workspace turns them off) and whose check passes only once a
 * row exists: its first deployment applies every step and fails its checks (no autoRollback).
 */
const GATE = {
  'gate/db.yaml': 'version: 1\nname: gate\nengine: postgres\nschemas: [gate]\ndeploy: { smokeAfterDeploy: true }\n',
  'gate/schema.sql': 'CREATE SCHEMA gate;\nCREATE TABLE gate.flags (id integer PRIMARY KEY);\n',
  'gate/smoke/flag.yaml':
    'checks:\n  - name: a flag is set\n    query: SELECT count(*)::int AS n FROM gate.flags\n    rows: [{ n: 1 }]\n',
};

describe.each(TARGETS)('smoke checks that fail [%s]', (_name, setup) => {
  let ws: ReturnType<typeof tempWorkspace>;
  let target: Target;
  const smoke = async (project: string, files: Record<string, string>, extra: Record<string, unknown> = {}) => {
    for (const [rel, text] of Object.entries(files)) ws.write(`${project}/smoke/${rel}`, text);
    try {
      return await run(ws.root, 'smoke-test', { project, env: target.env, ...extra }, target.vars);
    } finally {
      for (const rel of Object.keys(files)) ws.write(`${project}/smoke/${rel}`, '');
    }
  };
  /** Run one YAML check alone in shop and return its result line(s) and the exit code. */
  const one = async (check: string) => {
    const r = await smoke('shop', { 'check.yaml': `checks:\n  - ${check.trim().replace(/\n/g, '\n    ')}\n` });
    return {
      ...r,
      failures: r.stdout
        .split('\n')
        .filter((l, i, all) => l.startsWith('  FAIL') || all[i - 1]?.startsWith('  FAIL'))
        .join('\n'),
    };
  };

  beforeAll(async () => {
    ws = tempWorkspace({
      'dbee.yaml': DBEE_YAML,
      ...SHOP,
      ...LEGACY,
      ...GATE,
      'shop/smoke/check.yaml': '',
      'legacy/smoke/check.yaml': '',
    });
    target = await setup(() => ws.root);
    for (const project of ['shop', 'legacy']) {
      const r = await run(ws.root, 'deploy', { project, env: target.env }, target.vars);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
  });
  afterAll(async () => {
    await target?.done();
    ws?.remove();
  });

  it('passes checks of every kind, and a NOTICE or INFO does not fail a check', async () => {
    const r = await smoke('shop', {
      'check.yaml': `checks:
  - name: answer
    query: SELECT n, word FROM shop.answer WHERE n = $1
    args: [42]
    columns: { n: integer, word: text }
    rows: [{ n: 42, word: forty-two }]
  - name: chatty
    function: shop.chatty
    args: [7]
    rows: [{ chatty: 7 }]
  - name: objects
    exists: [view:shop.answer, "function:shop.chatty(int)", "procedure:shop.add_item(text)"]
  - name: add an item
    procedure: shop.add_item
    args: [cup]
`,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /pass {2}answer \(\d+ ms\)\n {2}pass {2}chatty \(\d+ ms\)\n {2}pass {2}objects \(\d+ ms\)\n {2}pass {2}add an item \(\d+ ms\)\n/,
    );
  });

  it('fails on wrong expected rows, saying which row and column', async () => {
    const r = await one(`name: wrong answer
query: SELECT n FROM shop.answer
rows: [{ n: 41 }]`);
    expect(r.code).toBe(3);
    expect(r.failures).toMatch(
      /^ {2}FAIL {2}wrong answer \(\d+ ms\) at shop\/smoke\/check.yaml:2\n {8}rows differ: row 1, column n: expected 41, got 42$/,
    );
    expect(r.stderr).toBe('error: 1 smoke check of shop failed: wrong answer\n');
  });

  it('fails on a wrong column type, naming the type PostgreSQL reports', async () => {
    const r = await one(`name: answer is a bigint
query: SELECT * FROM shop.answer
columns: { n: bigint, word: text }`);
    expect(r.code).toBe(3);
    expect(r.failures).toContain('columns differ: column n: expected type bigint, got integer');
  });

  it('fails on a missing object', async () => {
    const r = await one(`name: the stock table exists
exists: [table:shop.items, table:shop.stock]`);
    expect(r.code).toBe(3);
    expect(r.failures).toContain('missing: table:shop.stock');
    expect(r.failures).not.toContain('shop.items');
  });

  it('fails when the database raises a WARNING', async () => {
    const r = await one(`name: noisy
function: shop.noisy`);
    expect(r.code).toBe(3);
    expect(r.failures).toContain('raised a warning: stock is running low');
  });

  it('fails a check that outlasts its own time bound', async () => {
    const r = await one(`name: slow
query: SELECT pg_sleep(1)
timeout: 200ms`);
    expect(r.code).toBe(3);
    // A server cancels the statement (statement_timeout); PGlite cannot, so the time is checked afterwards.
    expect(r.failures).toMatch(/did not complete within 200 ms \(cancelled\)|took \d+ ms, over its bound of 200 ms/);
  });

  it("fails a check that outlasts the environment's deploy.smokeTimeout", async () => {
    ws.write(
      'shop/db.yaml',
      SHOP['shop/db.yaml'] + `environments:\n  ${target.env}:\n    deploy: { smokeTimeout: 1s }\n`,
    );
    try {
      const r = await one(`name: slow
query: SELECT pg_sleep(1.5)`);
      expect(r.code).toBe(3);
      expect(r.failures).toMatch(
        /did not complete within 1000 ms \(cancelled\)|took \d+ ms, over its bound of 1000 ms/,
      );
      expect(r.stdout).toMatch(/pass {2}baseline: deployed objects exist/);
    } finally {
      ws.write('shop/db.yaml', SHOP['shop/db.yaml']);
    }
  });

  it('rolls back what checks change: rows inserted by a query and by a procedure are gone', async () => {
    const r = await smoke('shop', {
      'check.yaml': `checks:\n  - name: insert returns its row\n    query: INSERT INTO shop.items (name) VALUES ('tea') RETURNING name\n    rows: [{ name: tea }]\n`,
      'writes.sql': `-- name: add an item through the procedure\nCALL shop.add_item('mug');\n\nINSERT INTO shop.items (name) VALUES ('pot');\n`,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/pass {2}add an item through the procedure/);
    expect(r.stdout).toMatch(/pass {2}shop\/smoke\/writes.sql:4/);
    expect(await target.query('SELECT count(*)::int AS n FROM shop.items')).toEqual([{ n: 0 }]);
  });

  it('detects a view that no longer compiles, without any smoke file', async () => {
    const r = await run(ws.root, 'smoke-test', { project: 'legacy', env: target.env }, target.vars);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/pass {2}baseline: deployed objects exist/);
    expect(r.stdout).toMatch(
      /FAIL {2}baseline: view legacy.prices compiles \(\d+ ms\)\n {8}failed: exchange rate service retired/,
    );
  });

  it('names the one view of 250 that no longer compiles (the baseline sends its compile checks in requests of many)', async () => {
    // 250 views: more than one request of compile checks; view 170 (in the second request) fails as legacy.prices does.
    ws.write('wide/db.yaml', 'version: 1\nname: wide\nengine: postgres\nschemas: [wide]\n');
    const views = Array.from(
      { length: 250 },
      (_, i) =>
        `CREATE VIEW wide.v${String(i + 1).padStart(3, '0')} AS SELECT ${i + 1} AS n${i === 169 ? ', wide.rate() AS rate' : ''};`,
    );
    ws.write(
      'wide/schema.sql',
      `CREATE SCHEMA wide;\n${LEGACY['legacy/schema.sql'].split('\n').slice(1, 6).join('\n').replaceAll('legacy.', 'wide.')}\n${views.join('\n')}\n`,
    );
    const deployed = await run(ws.root, 'deploy', { project: 'wide', env: target.env }, target.vars);
    expect(deployed.stderr).toBe('');
    expect(deployed.code).toBe(0);
    const r = await run(ws.root, 'smoke-test', { project: 'wide', env: target.env }, target.vars);
    expect(r.code).toBe(3);
    const fails = r.stdout.split('\n').filter((l) => l.includes('FAIL'));
    expect(fails).toHaveLength(1);
    expect(fails[0]).toMatch(/FAIL {2}baseline: view wide.v170 compiles/);
    expect(r.stdout).toMatch(/baseline: view wide.v170 compiles \(\d+ ms\)\n {8}failed: exchange rate service retired/);
    expect(r.stdout.split('\n').filter((l) => /pass {2}baseline: view wide\.v\d{3} compiles/.test(l))).toHaveLength(
      249,
    );
  });

  it('refuses an invalid smoke file before running anything (exit 1)', async () => {
    const before = await target.query('SELECT count(*)::int AS n FROM dbee.smoke_results');
    const r = await smoke('shop', { 'check.yaml': 'checks:\n  - name: typo\n    qurey: SELECT 1\n' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('shop/smoke/check.yaml:3:5: checks.0: unknown key "qurey"');
    expect(await target.query('SELECT count(*)::int AS n FROM dbee.smoke_results')).toEqual(before);
  });

  it('stores failures with their messages in dbee.smoke_results, against the last deployment', async () => {
    const rows = await target.query(
      `SELECT r.check_name, r.status, r.message, r.deployment_id = (SELECT max(id) FROM dbee.deployments d WHERE d.project = r.project) AS last
         FROM dbee.smoke_results r WHERE r.project = 'shop' AND r.check_name IN ('wrong answer', 'noisy', 'answer') ORDER BY r.id`,
    );
    expect(rows).toEqual([
      { check_name: 'answer', status: 'passed', message: null, last: true },
      {
        check_name: 'wrong answer',
        status: 'failed',
        message: 'rows differ: row 1, column n: expected 41, got 42',
        last: true,
      },
      { check_name: 'noisy', status: 'failed', message: 'raised a warning: stock is running low', last: true },
    ]);
  });

  it('runs the failed smoke checks of a deployment again on the next deploy, green only once they pass (#56)', async () => {
    const first = await run(ws.root, 'deploy', { project: 'gate', env: target.env }, target.vars);
    expect(first.code, first.stderr).toBe(3);
    expect(first.stderr).toContain('deploy again to resume');
    // Nothing left to apply: the next run still owes the checks, and they still fail (never "nothing to deploy").
    const again = await run(ws.root, 'deploy', { project: 'gate', env: target.env }, target.vars);
    expect(again.code, again.stderr).toBe(3);
    expect(again.stdout).toContain('gate (deployment #');
    expect(again.stdout).toContain(
      'its smoke checks failed: its smoke checks, promotion record and notifications run now',
    );
    expect(again.stdout).not.toContain('nothing to deploy');
    await target.query('INSERT INTO gate.flags VALUES (1)');
    const passing = await run(ws.root, 'deploy', { project: 'gate', env: target.env }, target.vars);
    expect(passing.code, passing.stderr).toBe(0);
    expect(passing.stdout).not.toContain('nothing to deploy');
    const settled = await run(ws.root, 'deploy', { project: 'gate', env: target.env }, target.vars);
    expect(settled.code, settled.stderr).toBe(0);
    expect(settled.stdout).toContain('gate: nothing to deploy, the database is up to date');
    expect(
      await target.query(
        "SELECT status, steps_total, steps_applied, summary->>'smoke' AS smoke FROM dbee.deployments WHERE project = 'gate' ORDER BY id",
      ),
    ).toEqual([
      { status: 'failed', steps_total: 2, steps_applied: 2, smoke: expect.stringMatching(/^\d+\/\d+ passed$/) },
      { status: 'failed', steps_total: 0, steps_applied: 0, smoke: expect.stringMatching(/^\d+\/\d+ passed$/) },
      { status: 'succeeded', steps_total: 0, steps_applied: 0, smoke: expect.stringMatching(/^\d+\/\d+ passed$/) },
    ]);
  });

  it("fails the baseline when a deployed object was dropped behind dbee's back", async () => {
    await target.query('DROP VIEW shop.answer');
    const r = await run(ws.root, 'smoke-test', { project: 'shop', env: target.env }, target.vars);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/FAIL {2}baseline: deployed objects exist \(\d+ ms\)\n {8}missing: view:shop.answer\n/);
    expect(r.stderr).toBe('error: 1 smoke check of shop failed: baseline: deployed objects exist\n');
  });
});
