import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envWorkspace, type Engine } from '../env-management/helpers';

/**
 * Issue 35, item 8: sources written as a declarative user writes them build and deploy. Each project is deployed to
 * an empty environment, then `dbee diff` against the sources is empty.
 */
const db = (name: string) => `version: 1\nname: ${name}\nengine: postgres\nschemas: [${name}]\n`;

describe.each<[Engine]>([['pglite'], ['postgres']])('desired state [%s]', (engine) => {
  const w = envWorkspace(engine, {
    // A foreign-key cycle written as two ALTER TABLE ... ADD CONSTRAINT statements, one per file.
    'cyc/db.yaml': db('cyc'),
    'cyc/schema/cyc/tables/a.sql':
      'CREATE TABLE cyc.a (id int PRIMARY KEY, b_id int);\nALTER TABLE cyc.a ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES cyc.b (id);\n',
    'cyc/schema/cyc/tables/b.sql':
      'CREATE TABLE cyc.b (id int PRIMARY KEY, a_id int);\nALTER TABLE cyc.b ADD CONSTRAINT b_a FOREIGN KEY (a_id) REFERENCES cyc.a (id);\n',
    // Issue 88, failure 4: the same cycle with its keys added NOT VALID, then validated (the VALIDATE was planned
    // before the ADD), and in the plain form (inside CREATE TABLE).
    'cycv/db.yaml': db('cycv'),
    'cycv/schema/cycv/tables/a.sql':
      'CREATE TABLE cycv.a (id int PRIMARY KEY, b_id int);\nALTER TABLE cycv.a ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES cycv.b (id) NOT VALID;\nALTER TABLE cycv.a VALIDATE CONSTRAINT a_b;\n',
    'cycv/schema/cycv/tables/b.sql':
      'CREATE TABLE cycv.b (id int PRIMARY KEY, a_id int);\nALTER TABLE cycv.b ADD CONSTRAINT b_a FOREIGN KEY (a_id) REFERENCES cycv.a (id) NOT VALID;\nALTER TABLE cycv.b VALIDATE CONSTRAINT b_a;\n',
    'cycp/db.yaml': db('cycp'),
    'cycp/schema/cycp/tables/a.sql':
      'CREATE TABLE cycp.a (id int PRIMARY KEY, b_id int CONSTRAINT a_b REFERENCES cycp.b (id));\n',
    'cycp/schema/cycp/tables/b.sql':
      'CREATE TABLE cycp.b (id int PRIMARY KEY, a_id int CONSTRAINT b_a REFERENCES cycp.a (id));\n',
    // A constraint made from an index, and an index attached to a partitioned index, the indexes in files of their own.
    'idx/db.yaml': db('idx'),
    'idx/schema/idx/tables/p.sql':
      'CREATE TABLE idx.p (a int NOT NULL);\nALTER TABLE idx.p ADD CONSTRAINT p_pk PRIMARY KEY USING INDEX p_a;\n',
    'idx/schema/idx/indexes/p_a.sql': 'CREATE UNIQUE INDEX p_a ON idx.p (a);\n',
    'idx/schema/idx/tables/m.sql':
      'CREATE TABLE idx.m (k int NOT NULL, v int) PARTITION BY RANGE (k);\nCREATE TABLE idx.m1 PARTITION OF idx.m FOR VALUES FROM (0) TO (10);\nALTER INDEX idx.m_v ATTACH PARTITION idx.m1_v;\n',
    'idx/schema/idx/indexes/m_v.sql': 'CREATE INDEX m_v ON ONLY idx.m (v);\n',
    'idx/schema/idx/indexes/m1_v.sql': 'CREATE INDEX m1_v ON idx.m1 (v);\n',
  });
  beforeAll(async () => {
    await w.setup();
  });
  afterAll(async () => {
    await w.teardown();
  });
  const deployed = async (project: string) => {
    const r = await w.dbee('deploy', { project, env: w.env(1) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const d = await w.dbee('diff', { project, env: w.env(1), format: 'json', cache: false });
    expect(d.code, d.stderr).toBe(0);
    const json = JSON.parse(d.stdout) as { changes: number; pendingDrops?: string[] };
    expect(json.changes).toBe(0);
    // Nothing the deployment recorded reads as removed from the sources: `--prune` has nothing to drop.
    expect(json.pendingDrops ?? []).toEqual([]);
    const pruned = await w.dbee('deploy', { project, env: w.env(1), prune: true, dryRun: true });
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout + pruned.stderr).not.toContain('--prune:');
  };

  it('deploys a foreign-key cycle written as two ALTER TABLE ... ADD CONSTRAINT statements', async () => {
    await deployed('cyc');
  });

  it('deploys a foreign-key cycle whose keys are added NOT VALID and then validated, and one written inline', async () => {
    await deployed('cycv');
    await deployed('cycp');
    const keys = await w.query(
      1,
      `SELECT conname, convalidated FROM pg_constraint WHERE contype = 'f' AND connamespace::regnamespace::text IN ('cycv', 'cycp') ORDER BY 1`,
    );
    expect(keys).toEqual([
      { conname: 'a_b', convalidated: true },
      { conname: 'a_b', convalidated: true },
      { conname: 'b_a', convalidated: true },
      { conname: 'b_a', convalidated: true },
    ]);
  });

  it('builds sources that name an index in ADD CONSTRAINT ... USING INDEX and ALTER INDEX ... ATTACH PARTITION', async () => {
    await deployed('idx');
  });
});

describe.each<[Engine]>([['pglite'], ['postgres']])('an extension the shadow lacks [%s]', (engine) => {
  const w = envWorkspace(engine, {
    'ext/db.yaml': db('ext'),
    'ext/schema/ext/extensions/x.sql': 'CREATE EXTENSION IF NOT EXISTS dbee_no_such_extension SCHEMA ext;\n',
    'ext/schema/ext/tables/t.sql': 'CREATE TABLE ext.t (id int);\n',
  });
  beforeAll(async () => {
    await w.setup();
  });
  afterAll(async () => {
    await w.teardown();
  });

  it('refuses the diff with a hint to build the sources on the server (shadow: server)', async () => {
    const r = await w.dbee('diff', { project: 'ext', env: w.env(1), cache: false });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('dbee_no_such_extension');
    expect(r.stderr).toContain('shadow: server');
  });
});

/**
 * Issue 59: the embedded shadow is PostgreSQL 17, where `GRANT ALL ON TABLE` includes MAINTAIN; a server of 14-16
 * refuses the word. A plan to such a target leaves out what it does not know. The server only: a PGlite target is
 * the shadow's own version (the test checks the server is older, or it could not fail).
 */
describe('a desired model built on a newer server than the target [postgres]', () => {
  const w = envWorkspace('postgres', {
    'ga/db.yaml': db('ga'),
    'ga/schema/ga/tables/t.sql': 'CREATE TABLE ga.t (a int);\nGRANT ALL ON ga.t TO PUBLIC;\n',
  });
  beforeAll(async () => {
    await w.setup();
  });
  afterAll(async () => {
    await w.teardown();
  });

  it('plans no GRANT MAINTAIN for a GRANT ALL to a server before 17', async () => {
    const [v] = await w.query(1, `SELECT current_setting('server_version_num')::int AS v`);
    expect((v as { v: number }).v).toBeLessThan(170000);
    expect((await w.dbee('deploy', { project: 'ga', env: w.env(1) })).code).toBe(0);
    const d = await w.dbee('diff', { project: 'ga', env: w.env(1), cache: false });
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toContain('no differences');
    // Planned by a diff (a changed table), the deployment sends no MAINTAIN either.
    w.write('ga/schema/ga/tables/t.sql', 'CREATE TABLE ga.t (a int, b int);\nGRANT ALL ON ga.t TO PUBLIC;\n');
    const r = await w.dbee('deploy', { project: 'ga', env: w.env(1) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('MAINTAIN');
  });
});
