import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envWorkspace, type Engine } from './helpers';

/**
 * Issue 88, failure 6: a partition's unique index promoted to its primary key and attached to the parent's key, as
 * PostgreSQL runs the file, was refused by adopt (and every command that reads the sources) as a "dependency cycle":
 * the ATTACH went with the parent's table, which then needed its own partition.
 */
const FILE = `CREATE SCHEMA s;
CREATE TABLE s.p (id int NOT NULL, k int NOT NULL) PARTITION BY RANGE (k);
CREATE TABLE s.p1 PARTITION OF s.p FOR VALUES FROM (0) TO (10);
ALTER TABLE ONLY s.p ADD CONSTRAINT p_pkey PRIMARY KEY (id, k);
CREATE UNIQUE INDEX p1_u ON s.p1 (id, k);
ALTER TABLE s.p1 ADD CONSTRAINT p1_pkey PRIMARY KEY USING INDEX p1_u;
ALTER INDEX s.p_pkey ATTACH PARTITION s.p1_pkey;
`;

// The server only: what is fixed is how the sources' statements are grouped, the same for both engines (PGlite's
// embedded environments would cost this file some 20 s more).
describe.each<[Engine]>([['postgres']])('a partition key attached by hand [%s]', (engine) => {
  const w = envWorkspace(engine, {
    's/db.yaml': 'version: 1\nname: s\nengine: postgres\nschemas: [s]\n',
    's/schema.sql': FILE,
  });
  beforeAll(() => w.setup(), 120_000);
  afterAll(() => w.teardown(), 120_000);

  it('is adopted where psql ran the file, and deployed from it elsewhere with the same keys', async () => {
    await w.exec(1, FILE);
    const adopted = await w.dbee('adopt', { project: 's', env: w.env(1) });
    expect(adopted.stderr).toBe('');
    expect(adopted.code).toBe(0);
    expect(adopted.stdout).toContain('equal to the sources: constraint:s.p1_pkey@s.p1');
    const deployed = await w.dbee('deploy', { project: 's', env: w.env(2) });
    expect(deployed.stderr).toBe('');
    expect(deployed.code).toBe(0);
    const keys = `SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE c.relnamespace = 's'::regnamespace ORDER BY 1`;
    const expected = [
      { relname: 'p1_pkey', indisvalid: true },
      { relname: 'p_pkey', indisvalid: true },
    ];
    expect(await w.query(1, keys)).toEqual(expected);
    expect(await w.query(2, keys)).toEqual(expected);
  });
});
