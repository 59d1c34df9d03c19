import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { dbYaml, workspaceWith, type TestWorkspace } from '../runner/helpers';

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

describe('smoke checks on a server [postgres]', () => {
  it("open each check's transaction with its time bound and search path in one round trip, and always roll it back", async () => {
    const { PgConnection } = await import('@dbee/postgres');
    const proto = PgConnection.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const sent: string[] = [];
    const saved = { execute: proto.execute!, queryPrepared: proto.queryPrepared! };
    proto.execute = function (this: unknown, ...a: unknown[]) {
      sent.push(String(a[0]));
      return saved.execute.apply(this, a);
    };
    const prepared: { sql: string; settings: unknown }[] = [];
    proto.queryPrepared = function (this: unknown, ...a: unknown[]) {
      prepared.push({ sql: String(a[0]), settings: a[2] });
      return saved.queryPrepared.apply(this, a);
    };
    try {
      const w = await workspaceWith('postgres', {
        's/db.yaml': dbYaml('s'),
        's/schema.sql':
          'CREATE SCHEMA s;\nCREATE TABLE s.t (id int PRIMARY KEY);\nCREATE VIEW s.v AS SELECT id FROM s.t;\n',
      });
      workspaces.push(w);
      expect((await run(w.root, 'deploy', { project: 's' }, w.target.vars)).code).toBe(0);
      w.write(
        's/smoke/checks.yaml',
        'checks:\n  - name: writes are rolled back\n    query: INSERT INTO s.t VALUES (1) RETURNING id\n    rows: [{ id: 1 }]\n  - name: too slow\n    query: SELECT pg_sleep(2)\n    timeout: 100ms\n',
      );
      sent.length = 0;
      prepared.length = 0;
      const r = await run(w.root, 'smoke-test', { project: 's' }, w.target.vars);
      expect(r.stdout).toMatch(/pass {2}baseline: deployed objects exist/);
      expect(r.stdout).toMatch(/pass {2}writes are rolled back/);
      expect(r.stdout).toMatch(/FAIL {2}too slow .*\n.*did not complete within 100 ms/);
      expect(r.code).toBe(3);
      // The two checks: each opened in one request, each rolled back.
      const opened = sent.filter((s) => s.startsWith('BEGIN'));
      expect(opened).toHaveLength(2);
      for (const s of opened) expect(s).toMatch(/^BEGIN;\nSET LOCAL statement_timeout = \d+;\nSET search_path TO /);
      expect(sent.filter((s) => s === 'ROLLBACK')).toHaveLength(2);
      // The baseline's existence check, one catalog query that changes nothing: one request with its time bound, no
      // transaction opened and rolled back around it (three requests before).
      expect(prepared.filter((p) => /WITH k AS MATERIALIZED/.test(p.sql)).map((p) => p.settings)).toEqual([
        { statement_timeout: expect.stringMatching(/^\d+$/) },
      ]);
      expect(await w.target.query('SELECT count(*)::int AS n FROM s.t')).toEqual([{ n: 0 }]);
    } finally {
      Object.assign(proto, saved);
    }
  });
});
