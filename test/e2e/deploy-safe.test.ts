import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { PgliteConnection } from '@dbee/postgres';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';

const ws = (deploy = '') => `version: 1
defaultEnvironment: local
environments:
  local:
    engine: postgres
    connection: { embedded: .dbee/local }
${deploy}`;
const v1 = {
  'a/db.yaml': 'version: 1\nname: a\nengine: postgres\nschemas: [a]\n',
  'a/schema.sql': 'CREATE SCHEMA a;',
  'a/t.sql': 'CREATE TABLE a.t (id int PRIMARY KEY, qty int);',
};
// More rows than a small table has (operations/size-hazards.ts): the lock hazards count.
const ROWS = 10_001;
const v2 =
  'CREATE TABLE a.t (id int PRIMARY KEY, qty int NOT NULL CHECK (qty >= 0));\nCREATE INDEX t_qty_idx ON a.t (qty);';

describe('deploy --safe and deploy.safeRewrites [pglite]', () => {
  const w = tempWorkspace({ 'dbee.yaml': ws(), ...v1 });
  const query = async (sql: string) => {
    const c = await PgliteConnection.open(join(w.root, '.dbee', 'local'), 't');
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.close();
    }
  };
  afterAll(() => w.remove());

  it('the dry run prints the rewritten plan and no longer refuses the hazards it satisfies; the real run sends it', async () => {
    expect((await run(w.root, 'deploy', { project: 'a' })).code).toBe(0);
    await query(`INSERT INTO a.t SELECT g, g FROM generate_series(1, ${ROWS}) g`);
    await query('ANALYZE a.t');
    w.write('a/t.sql', v2);

    // Without the rewrites: SET NOT NULL and the index block writes while they scan (long-lock).
    const plain = await run(w.root, 'deploy', { project: 'a', dryRun: true, allowHazards: ['index-build'] });
    expect(plain.code).toBe(1);
    // On this target's table: the hazard says how large it is (the planner's estimate once analysed).
    expect(plain.stderr).toMatch(
      /long-lock \(SET NOT NULL on a\.t\.qty scans the table under an exclusive lock \(a\.t: about 10,001 rows\)\)/,
    );
    expect(plain.stderr).toContain('long-lock (builds index a.t_qty_idx while blocking writes to a.t');
    expect(plain.stderr).toContain('or plan it with --safe');

    const dry = await run(w.root, 'deploy', { project: 'a', dryRun: true, safe: true, allowHazards: ['index-build'] });
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    // The statements the dry run prints (the plan's lines end with a semicolon; the rest is said around them).
    const sql = dry.stdout.split('\n').filter((l) => l.endsWith(';') && !l.startsWith('--'));
    const body = sql.filter((l) => !l.startsWith('SET lock_timeout'));
    expect(body).toEqual([
      'ALTER TABLE a.t ADD CONSTRAINT qty_not_null_dbee CHECK (qty IS NOT NULL) NOT VALID;',
      'ALTER TABLE a.t VALIDATE CONSTRAINT qty_not_null_dbee;',
      'ALTER TABLE a.t ALTER COLUMN qty SET NOT NULL;',
      'ALTER TABLE a.t DROP CONSTRAINT qty_not_null_dbee;',
      'ALTER TABLE a.t ADD CONSTRAINT t_qty_check CHECK ((qty >= 0)) NOT VALID;',
      'ALTER TABLE a.t VALIDATE CONSTRAINT t_qty_check;',
      'CREATE INDEX CONCURRENTLY t_qty_idx ON a.t USING btree (qty);',
    ]);
    expect(dry.stdout).toContain("SET lock_timeout = '5s';");
    expect(dry.stdout).toContain('--   safe: SET NOT NULL on a.t.qty through a validated check');
    expect(dry.stdout).toContain('-- step 6/6: create index:a.t_qty_idx@a.t  (a/t.sql:2)  [outside a transaction]');

    // The environment's setting does the same, with its own lock timeout; the ledger keeps what was sent.
    w.write('dbee.yaml', ws('    deploy: { safeRewrites: true, lockTimeout: 2s, allowHazards: [index-build] }\n'));
    const real = await run(w.root, 'deploy', { project: 'a' });
    expect(real.stderr).toBe('');
    expect(real.code).toBe(0);
    // The last deployment's steps, as the ledger recorded what each sent.
    const sent = await query(
      'SELECT transactional, statements FROM dbee.steps WHERE deployment_id = (SELECT max(id) FROM dbee.deployments) ORDER BY step_order',
    );
    expect(sent.map((r) => (r['statements'] as string[]).filter((x) => !x.startsWith('SET ')))).toEqual(
      [[body[0]], [body[1]], [body[2], body[3]], [body[4]], [body[5]], [body[6]]].map((step) =>
        step.map((x) => x!.replace(/;$/, '')),
      ),
    );
    expect(sent.every((r) => (r['statements'] as string[])[0]!.startsWith('SET lock_timeout'))).toBe(true);
    expect(JSON.stringify(sent)).toContain("SET lock_timeout = '2s'");
    expect(
      await query(
        "SELECT conname, convalidated FROM pg_constraint WHERE conrelid = 'a.t'::regclass AND contype = 'c' ORDER BY 1",
      ),
    ).toEqual([{ conname: 't_qty_check', convalidated: true }]);
    expect(
      await query("SELECT attnotnull FROM pg_attribute WHERE attrelid = 'a.t'::regclass AND attname = 'qty'"),
    ).toEqual([{ attnotnull: true }]);
    expect(await query("SELECT indisvalid FROM pg_index WHERE indexrelid = 'a.t_qty_idx'::regclass")).toEqual([
      { indisvalid: true },
    ]);
    const again = await run(w.root, 'deploy', { project: 'a' });
    expect(again.stdout).toContain('a: nothing to deploy');
  });

  it('an index in a source file of its own (planned from the sources, not by a diff) is built CONCURRENTLY too', async () => {
    w.write('a/i.sql', 'CREATE INDEX t_id_qty_idx ON a.t (id, qty);');
    w.write('dbee.yaml', ws('    deploy: { allowHazards: [index-build] }\n'));
    const plain = await run(w.root, 'deploy', { project: 'a', dryRun: true });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('long-lock (builds index a.t_id_qty_idx while blocking writes to a.t');
    const real = await run(w.root, 'deploy', { project: 'a', safe: true });
    expect(real.stderr).toBe('');
    expect(real.code).toBe(0);
    const sent = await query(
      'SELECT transactional, statements FROM dbee.steps WHERE deployment_id = (SELECT max(id) FROM dbee.deployments)',
    );
    expect(sent).toEqual([
      {
        transactional: false,
        statements: ['SET lock_timeout = 0', 'CREATE INDEX CONCURRENTLY t_id_qty_idx ON a.t (id, qty)'],
      },
    ]);
  });

  it('refuses --safe with a package (deployed as it was planned) and on the full plan of the sources', async () => {
    const out = join(w.root, 'pkg');
    expect((await run(w.root, 'plan', { project: 'a', out })).code).toBe(0);
    const r = await run(w.root, 'deploy', { project: 'a', package: out, safe: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--safe applies when a plan is made');
    // The full plan of the sources knows no target: nothing to judge a rewrite by.
    const full = await run(w.root, 'plan', { project: 'a', safe: true });
    expect(full.code).toBe(1);
    expect(full.stderr).toContain('not the full plan of the sources');
  });
});
