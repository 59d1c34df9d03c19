import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerPostgresDiff } from '../support/postgres-diff';
import { envWorkspace } from '../env-management/helpers';

/**
 * Issue 88, Deliver 1 with failure 1: verified means converged. A generated column's expression change drops and adds
 * the column; PostgreSQL's DROP COLUMN takes the unique constraint and the index on it along. The planner now creates
 * them again (test/diff/recreate.test.ts); here a renderer that leaves those re-creations out, as the planner did
 * before, stands for any plan that applies without error and does not reach its sources. The dry run must refuse it
 * (exit 1, never "verified"), and the real run must fail (exit 2, recorded as not converged), never exit 0.
 */
const table = (expression: string) =>
  `CREATE TABLE g.t (id int PRIMARY KEY, name text, name_key text GENERATED ALWAYS AS (${expression}) STORED UNIQUE);\nCREATE INDEX t_nk ON g.t (name_key);\n`;

/** A function of project `h`: a new one is planned from its file, no model of the sources built to plan it. */
const fn = "CREATE FUNCTION h.f() RETURNS int LANGUAGE sql AS 'SELECT 1';";

describe('verified means converged [postgres]', () => {
  const w = envWorkspace('postgres', {
    'g/db.yaml': 'version: 1\nname: g\nengine: postgres\nschemas: [g]\n',
    'g/schema/g/tables/t.sql': table('lower(name)'),
    'h/db.yaml': 'version: 1\nname: h\nengine: postgres\nschemas: [h]\n',
    'h/schema/h/functions/f.sql': fn,
    'k/db.yaml': 'version: 1\nname: k\nengine: postgres\nschemas: [k]\n',
    'k/schema/k/tables/t.sql': 'CREATE TABLE k.t (id int PRIMARY KEY, a int NOT NULL);\n',
  });
  let unregister = () => {};
  beforeAll(async () => {
    await w.setup();
    for (const project of ['g', 'h', 'k']) {
      const first = await w.dbee('deploy', { project, env: w.env(1) });
      expect(first.code, first.stderr).toBe(0);
    }
    w.write('g/schema/g/tables/t.sql', table('lower(btrim(name))'));
  });
  afterAll(async () => {
    unregister();
    await w.teardown();
  });

  it('a plan that reaches its sources is verified and converged, on the copy and on the target', async () => {
    const dry = await w.dbee('deploy', { project: 'g', env: w.env(1), dryRun: true });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(
      /dry run: verified on a scratch copy of the target's schemas \(\d+ steps, all applied\) and converged/,
    );
  });

  it('a plan that loses the constraint and index is refused by the dry run and fails the real run', async () => {
    // The planner as it was: the re-creations of what DROP COLUMN took along are left out of the rendered plan.
    unregister = registerPostgresDiff((diff) => ({
      renderChanges: (changes, options) =>
        diff.renderChanges(
          changes.filter(
            (c) =>
              !(
                (c.kind === 'add-constraint' ||
                  c.kind === 'create-index' ||
                  c.kind === 'drop-constraint' ||
                  c.kind === 'drop-index') &&
                c.recreate
              ),
          ),
          options,
        ),
    }));
    const dry = await w.dbee('deploy', { project: 'g', env: w.env(1), dryRun: true });
    expect(dry.code).toBe(1);
    expect(dry.stdout).not.toContain('dry run: verified');
    expect(dry.stderr).toContain('the copy then differs from the sources');
    expect(dry.stderr).toMatch(/table:g\.t: .*add-constraint t_name_key_key/);
    expect(dry.stderr).toMatch(/index:g\.t_nk@g\.t: create-index/);
    // Nothing ran: the constraint is still there.
    const before = await w.query(
      1,
      `SELECT conname FROM pg_constraint WHERE conrelid = 'g.t'::regclass AND contype = 'u'`,
    );
    expect(before).toEqual([{ conname: 't_name_key_key' }]);

    // The real run compares whatever planning left: no model of the sources cached (the dry run's removed), it builds one.
    rmSync(join(w.root, '.dbee', 'cache'), { recursive: true, force: true });
    const real = await w.dbee('deploy', { project: 'g', env: w.env(1) });
    expect(real.code).toBe(2);
    expect(real.stderr).toContain('every step applied, but the objects the deployment touched differ from the sources');
    expect(real.stderr).toContain('t_name_key_key');
    const [row] = await w.query<{ status: string; summary: { notConverged?: string[] } }>(
      1,
      'SELECT status, summary FROM dbee.deployments ORDER BY id DESC LIMIT 1',
    );
    expect(row!.status).toBe('failed');
    expect(row!.summary.notConverged).toEqual(expect.arrayContaining(['table:g.t', 'index:g.t_nk@g.t']));
    unregister();
    unregister = () => {};
  });

  it("a real run planned from source files alone builds the sources' model and fails when it does not converge", async () => {
    // What the target does to what the steps made (an event trigger of the DBA's, stamping new functions) stands for
    // any plan from files that applies and does not reach its sources: the new function planned from its file alone
    // (`CREATE`, no model of the sources built or cached to plan it) is compared after it, with one built.
    await w.exec(
      1,
      `CREATE FUNCTION public.stamp() RETURNS event_trigger LANGUAGE plpgsql AS $$
       BEGIN IF EXISTS (SELECT FROM pg_event_trigger_ddl_commands() WHERE object_identity = 'h.g()') THEN
         EXECUTE 'COMMENT ON FUNCTION h.g() IS ''stamped''';
       END IF; END $$;
       CREATE EVENT TRIGGER stamp ON ddl_command_end WHEN TAG IN ('CREATE FUNCTION') EXECUTE FUNCTION public.stamp();`,
    );
    w.write('h/schema/h/functions/g.sql', fn.replace('h.f()', 'h.g()'));
    rmSync(join(w.root, '.dbee', 'cache'), { recursive: true, force: true });
    const real = await w.dbee('deploy', { project: 'h', env: w.env(1) });
    await w.exec(1, 'DROP EVENT TRIGGER stamp; DROP FUNCTION public.stamp()');
    expect(real.code, real.stdout + real.stderr).toBe(2);
    expect(real.stderr).toMatch(/function:h\.g\(\): set-comment/);
    const [row] = await w.query<{ status: string; summary: { notConverged?: string[] } }>(
      1,
      'SELECT status, summary FROM dbee.deployments ORDER BY id DESC LIMIT 1',
    );
    expect(row).toEqual({ status: 'failed', summary: expect.objectContaining({ notConverged: ['function:h.g()'] }) });
  });

  it('a clone ends with the same check against its source environment: a difference left fails it', async () => {
    // The target's event trigger (a DBA's) changes each new function: the clone applies, and does not reach the source.
    await w.exec(
      2,
      `CREATE FUNCTION public.stamp() RETURNS event_trigger LANGUAGE plpgsql AS $$
       BEGIN IF EXISTS (SELECT FROM pg_event_trigger_ddl_commands() WHERE object_identity = 'h.g()') THEN
         EXECUTE 'ALTER FUNCTION h.g() SET work_mem = ''1MB''';
       END IF; END $$;
       CREATE EVENT TRIGGER stamp ON ddl_command_end WHEN TAG IN ('CREATE FUNCTION') EXECUTE FUNCTION public.stamp();`,
    );
    const from = w.env(1);
    const to = w.env(2);
    const diverged = await w.dbee('clone', { project: 'h', from, to, assumeYes: true });
    await w.exec(2, 'DROP EVENT TRIGGER stamp; DROP FUNCTION public.stamp()');
    expect(diverged.code, diverged.stdout + diverged.stderr).toBe(2);
    expect(diverged.stderr).toContain(`the objects the deployment touched differ from ${from}`);
    expect(diverged.stderr).toMatch(/function:h\.g\(\): /);
    expect(diverged.stdout).not.toContain(`now equals ${from}`);
    const again = await w.dbee('clone', { project: 'h', from, to, assumeYes: true });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout + again.stderr).toContain(`h: converged: the object the deployment touched equals ${from}`);
  });

  it('complete ends an expand-contract release with the check: converged, or exit 2 naming what differs', async () => {
    const env = w.env(1);
    w.write('k/schema/k/tables/t.sql', 'CREATE TABLE k.t (id int PRIMARY KEY, a bigint NOT NULL);\n');
    expect((await w.dbee('deploy', { project: 'k', env, strategy: 'expand-contract' })).code).toBe(0);
    const done = await w.dbee('complete', { project: 'k', env });
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout + done.stderr).toContain('k: converged: the object the deployment touched equals the sources');

    // The next release, contracted on a target whose event trigger (a DBA's) comments the table when a schema is
    // dropped (complete drops the old version schema).
    w.write('k/schema/k/tables/t.sql', 'CREATE TABLE k.t (id int PRIMARY KEY, a bigint NOT NULL, b int);\n');
    expect((await w.dbee('deploy', { project: 'k', env, strategy: 'expand-contract' })).code).toBe(0);
    // Its dry run ends with the same check, on the copy it contracts (it said "not compared with the sources" before).
    const dry = await w.dbee('complete', { project: 'k', env, dryRun: true });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout + dry.stderr).toMatch(
      /dry run: verified on a scratch copy of the target's schemas \(\d+ steps, all applied\) and converged: the object they touch equals the sources/,
    );
    await w.exec(
      1,
      `CREATE FUNCTION public.stamp_k() RETURNS event_trigger LANGUAGE plpgsql AS $$
       BEGIN EXECUTE 'COMMENT ON TABLE k.t IS ''stamped'''; END $$;
       CREATE EVENT TRIGGER stamp_k ON ddl_command_end WHEN TAG IN ('DROP SCHEMA') EXECUTE FUNCTION public.stamp_k();`,
    );
    const diverged = await w.dbee('complete', { project: 'k', env });
    await w.exec(1, 'DROP EVENT TRIGGER stamp_k; DROP FUNCTION public.stamp_k()');
    expect(diverged.code, diverged.stdout + diverged.stderr).toBe(2);
    expect(diverged.stderr).toMatch(/table:k\.t: set-comment/);
    const [row] = await w.query<{ kind: string; status: string; summary: { notConverged?: string[] } }>(
      1,
      'SELECT kind, status, summary FROM dbee.deployments ORDER BY id DESC LIMIT 1',
    );
    expect(row).toEqual({
      kind: 'complete',
      status: 'failed',
      summary: expect.objectContaining({ notConverged: ['table:k.t'] }),
    });
  });
});
