import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';
import { Client } from 'pg';
import { SERVER_URL, scratchDatabase } from '../support/pg';

/** Statements on one session (simple protocol), the last one's rows. */
async function queryUrl(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const r = (await c.query(sql)) as unknown;
    const last = Array.isArray(r) ? r[r.length - 1] : r;
    return (last as { rows: Record<string, unknown>[] }).rows;
  } finally {
    await c.end();
  }
}

/**
 * The application's role can use the version schemas as it used the tables (server): USAGE on the version schema for
 * whoever may use the project's schema, and the table's SELECT/INSERT/UPDATE/DELETE on its views; with
 * security_invoker (PostgreSQL 15+) the view checks the caller's rights on the table too.
 */
const WS = `version: 1
defaultEnvironment: server
environments:
  server:
    engine: postgres
    connection: { url: "\${EXPAND_GRANTS_URL}" }
`;

describe('grants through the version schemas (server)', () => {
  const role = `dbee_app_${randomBytes(4).toString('hex')}`;
  const w = tempWorkspace({
    'dbee.yaml': WS,
    's/db.yaml': 'version: 1\nname: s\nengine: postgres\nschemas: [s]\nmanage: { grants: false }\n',
    's/schema.sql': 'CREATE SCHEMA s;',
    's/t.sql': 'CREATE TABLE s.t (id int PRIMARY KEY, a text);',
  });
  let db: Awaited<ReturnType<typeof scratchDatabase>> | undefined;
  afterAll(async () => {
    if (db) {
      await queryUrl(db.url, `DROP OWNED BY ${role}`).catch(() => undefined);
      await queryUrl(SERVER_URL, `DROP ROLE IF EXISTS ${role}`);
      await db.drop();
    }
    w.remove();
  });

  it('the app role reads and writes through the new version as it did on the table', async () => {
    db = await scratchDatabase('dbee_xg');
    const vars = { EXPAND_GRANTS_URL: db.url };
    expect((await run(w.root, 'deploy', { project: 's' }, vars)).code).toBe(0);
    await queryUrl(db.url, `CREATE ROLE ${role}`);
    await queryUrl(db.url, `GRANT USAGE ON SCHEMA s TO ${role}; GRANT SELECT, INSERT ON s.t TO ${role}`);
    w.write('s/t.sql', 'CREATE TABLE s.t (id int PRIMARY KEY, a text, b int);');
    const r = await run(w.root, 'deploy', { project: 's', strategy: 'expand-contract' }, vars);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(
      await queryUrl(
        db.url,
        `SELECT has_schema_privilege('${role}', 's_v1', 'USAGE') AS usage, has_table_privilege('${role}', 's_v1.t', 'INSERT') AS ins, has_table_privilege('${role}', 's_v1.t', 'SELECT') AS sel, has_table_privilege('${role}', 's_v1.t', 'DELETE') AS del`,
      ),
    ).toEqual([{ usage: true, ins: true, sel: true, del: false }]);
    expect(
      await queryUrl(
        db.url,
        `SET ROLE ${role}; SET search_path = s_v1, s; INSERT INTO t (id, a, b) VALUES (1, 'x', 2); SELECT id, a, b FROM t`,
      ),
    ).toEqual([{ id: 1, a: 'x', b: 2 }]);
    expect((await run(w.root, 'abort', { project: 's' }, vars)).code).toBe(0);
  });
});
