import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createPostgresEngine, PgliteConnection, securityInvokerViews } from '@dbee/postgres';
import { registerEngine } from '../../packages/cli/src/engines';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';
import { EMBEDDED_LOCAL_YAML } from './workspace';

/**
 * On PostgreSQL before 15 the version schemas' views cannot be `security_invoker`: they read the tables with their
 * owner's rights, and row-level security does not apply through them. That is the hazard `rls-bypass`: refused
 * (exit 1, nothing started) unless the environment or the run allows it. No server before 15 runs here: the engine's
 * capability is its one function of the server version, given PostgreSQL 14's number (140013) through the CLI's
 * engine seam; the rest is the real PGlite engine.
 */
const WS = EMBEDDED_LOCAL_YAML;
const V1 = {
  's/db.yaml': 'version: 1\nname: s\nengine: postgres\nschemas: [s]\n',
  's/schema.sql': 'CREATE SCHEMA s;',
  's/orders.sql': 'CREATE TABLE s.orders (id int PRIMARY KEY, state text);',
};
const V2 = {
  's/db.yaml':
    'version: 1\nname: s\nengine: postgres\nschemas: [s]\nrenames:\n  - { kind: column, schema: s, table: orders, from: state, to: status }\n',
  's/orders.sql': 'CREATE TABLE s.orders (id int PRIMARY KEY, status text);',
};

describe('expand-contract on a server without security_invoker views (rls-bypass)', () => {
  const w = tempWorkspace({ 'dbee.yaml': WS, ...V1 });
  let unregister = () => {};
  afterAll(() => {
    unregister();
    w.remove();
  });
  const rows = async (sql: string) => {
    const c = await PgliteConnection.open(join(w.root, '.dbee', 'local'), 't');
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.close();
    }
  };

  it('the capability is a function of the server version: PostgreSQL 15 and later', () => {
    expect([140013, 149999, 150000, 170004].map(securityInvokerViews)).toEqual([false, false, true, true]);
  });

  it('is refused with exit 1 unless rls-bypass is allowed; allowed, the views are made without it', async () => {
    expect((await run(w.root, 'deploy', { project: 's' })).code).toBe(0);
    for (const [f, text] of Object.entries(V2)) w.write(f, text);
    unregister = registerEngine('postgres', () => {
      const engine = createPostgresEngine();
      return { ...engine, expand: { ...engine.expand!, securityInvoker: async () => securityInvokerViews(140013) } };
    });

    for (const extra of [{ dryRun: true }, {}]) {
      const refused = await run(w.root, 'deploy', { project: 's', strategy: 'expand-contract', ...extra });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('cannot make views security_invoker');
      expect(refused.stderr).toContain('hazard rls-bypass, which environment local does not allow');
      expect(refused.stderr).toContain('--allow-hazards rls-bypass');
    }
    // No release started: the ledger has not even made its table of releases (made by the first one).
    expect(await rows(`SELECT to_regclass('dbee.expand_releases') IS NULL AS none`)).toEqual([{ none: true }]);

    const allowed = await run(w.root, 'deploy', {
      project: 's',
      strategy: 'expand-contract',
      allowHazards: ['rls-bypass'],
    });
    expect(allowed.code).toBe(0);
    expect(allowed.stderr).toContain('row-level security on the tables does not apply through them');
    expect(
      await rows(
        `SELECT n.nspname, c.relname, c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('s_v0', 's_v1') ORDER BY 1`,
      ),
    ).toEqual([
      { nspname: 's_v0', relname: 'orders', reloptions: null },
      { nspname: 's_v1', relname: 'orders', reloptions: null },
    ]);
  });
});
