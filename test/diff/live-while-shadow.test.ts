import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logRequests, type RequestEvent } from '../support/request-log';
import { run } from '../support/run';
import { dbYaml, workspaceWith, workspaceYaml, type TestWorkspace } from '../runner/helpers';

/**
 * An uncached `dbee diff` builds the sources' model in a shadow database (the whole project applied, then read back)
 * and reads the live side (fingerprint, catalog): the two are read at once, on their own sessions (issue #40: the
 * uncached diff at 5,000 objects is the shadow's build plus the live read). Every request of the process is logged
 * with its session's description and when it was sent and answered.
 */
type Event = RequestEvent & { shadow: boolean };
const FINGERPRINT = /^\s*with ns as \(/;
/**
 * The introspection's last query (`DEPENDENCIES_SQL`), on the shadow: the sources' model is read once it is answered
 * (a line of the request that sends a session's share of the catalog queries together).
 */
const LAST_CATALOG_READ = /^\s*select\s+case when d\.classid in \('pg_rewrite'::regclass/m;

const FILES = {
  'shop/db.yaml': dbYaml('shop'),
  'shop/schema.sql': 'CREATE SCHEMA shop;\n',
  'shop/customers.sql': 'CREATE TABLE shop.customers (id int PRIMARY KEY, name text NOT NULL);\n',
  'shop/names.sql': 'CREATE OR REPLACE VIEW shop.names AS SELECT id, name FROM shop.customers;\n',
};

/**
 * Tables enough that the shadow's build outlasts the opening of the target's session on a loaded machine: with the
 * three objects above alone, the whole suite once saw the shadow read back before the target's first request went out.
 */
const WIDE = Object.fromEntries(
  Array.from({ length: 120 }, (_, i) => [
    `shop/t${i}.sql`,
    `CREATE TABLE shop.t${i} (id int PRIMARY KEY, a text, b int);\nCREATE INDEX t${i}_b ON shop.t${i} (b);\n`,
  ]),
);

describe('an uncached diff reads the live side while the shadow is built [postgres]', () => {
  let w: TestWorkspace;
  let log: ReturnType<typeof logRequests>;
  const events = (): Event[] => log.events.map((e) => ({ ...e, shadow: /\(shadow /.test(e.description) }));

  beforeAll(async () => {
    w = await workspaceWith('postgres', {
      ...FILES,
      ...WIDE,
      'dbee.yaml': workspaceYaml('postgres', { top: 'shadow: server' }),
    });
    const r = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(r.code, r.stderr).toBe(0);
    log = logRequests();
  });
  afterAll(async () => {
    log?.restore();
    await w?.remove();
  });

  it('sends the target fingerprint before the shadow has been read back, and finds the change', async () => {
    w.write(
      'shop/names.sql',
      'CREATE OR REPLACE VIEW shop.names AS SELECT id, upper(name) AS name FROM shop.customers;\n',
    );
    const r = await run(w.root, 'diff', { project: 'shop', format: 'json', cache: false }, w.target.vars);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).steps.map((s: { key: string }) => s.key)).toEqual(['view:shop.names']);
    const all = events();
    const fingerprint = all.find((e) => e.kind === 'sent' && !e.shadow && FINGERPRINT.test(e.text));
    const shadowRead = all.find((e) => e.kind === 'done' && e.shadow && LAST_CATALOG_READ.test(e.text));
    expect(fingerprint).toBeDefined();
    expect(shadowRead).toBeDefined();
    expect(fingerprint!.at).toBeLessThan(shadowRead!.at);
    // The built schema is read back on two sessions of the shadow at once: the tables on one, the constraints on the
    // other (\`DiffRole.introspect\`'s \`side\`).
    const sessionOf = (re: RegExp) => all.find((e) => e.kind === 'sent' && e.shadow && re.test(e.text))?.session;
    const tables = sessionOf(/^\s*select c\.oid, c\.reltype/m);
    const constraints = sessionOf(/^\s*select con\.oid/m);
    expect(tables).toBeDefined();
    expect(constraints).toBeDefined();
    expect(constraints).not.toBe(tables);
  });

  it("says the sources' error first when both sides fail (as when the shadow was built before the target was read)", async () => {
    // The embedded shadow (PGlite): the sources fail there, and the target cannot be reached.
    const e = await workspaceWith('postgres', FILES);
    try {
      e.write('shop/names.sql', 'CREATE OR REPLACE VIEW shop.names AS SELECT id, nickname FROM shop.customers;\n');
      const r = await run(
        e.root,
        'diff',
        { project: 'shop', cache: false },
        { DBEE_RUNNER_URL: 'postgres://postgres@127.0.0.1:1/none' },
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('nickname');
      expect(r.stderr).not.toContain('cannot connect');
    } finally {
      await e.remove();
    }
  });
});
