import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { queryUrl, SERVER_URL } from '../support/pg';
import { ENGINES, type EngineName, promotionWorkspace } from '../promotion/helpers';

/**
 * Drift is a stage of the pipeline (issue 79): a hand edit on the target is refused by every command that would
 * record it as dbee's own, judged by what the target's own ledger recorded (whatever the environment is called now);
 * and the side paths of issue 71 (a plan of no steps judged by the gates as its dry run is; `complete` recording its
 * release's package, commit and smoke checks; `dbee log` counting what each phase did).
 */
describe.each(ENGINES)('the drift stage [%s]', (engine: EngineName) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  const workspace = async (envs: string[], gates: Record<string, string> = {}) => {
    const ws = await promotionWorkspace(engine, envs, gates);
    cleanups.push(ws.cleanup);
    // Replaceable in place: a full-state package may change it.
    ws.w.write('a/v.sql', 'CREATE OR REPLACE VIEW a.v AS SELECT id FROM a.t;');
    return ws;
  };
  const ledgerRows = async (ws: Awaited<ReturnType<typeof workspace>>, env: string) =>
    (await ws.query<{ n: number }>(env, 'SELECT count(*)::int AS n FROM dbee.deployments'))[0]!.n;
  const viewColumns = async (ws: Awaited<ReturnType<typeof workspace>>, env: string) =>
    (
      await ws.query<{ column_name: string }>(
        env,
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'a' AND table_name = 'v' ORDER BY ordinal_position",
      )
    ).map((c) => c.column_name);

  it('complete and abort refuse a hand edit on an expanded release, in the dry run too; complete records the release after', async () => {
    const ws = await workspace(['prod']);
    const vars = ws.vars('prod');
    const a = { project: 'a', env: 'prod' };
    expect((await ws.dbee('plan', { project: 'a', out: 'dist/v1' }, vars)).code).toBe(0);
    expect((await ws.dbee('deploy', { ...a, package: 'dist/v1' }, vars)).code).toBe(0);
    ws.w.write('a/t.sql', 'CREATE SCHEMA a;\nCREATE TABLE a.t (id int PRIMARY KEY, b int);');
    const strategy = 'expand-contract';
    expect((await ws.dbee('plan', { project: 'a', out: 'dist/v2', strategy }, vars)).code).toBe(0);
    const report = join(ws.w.root, 'expand-report.json');
    const expanded = await ws.dbee('deploy', { ...a, package: 'dist/v2', strategy, report }, vars);
    expect(expanded.code, expanded.stderr).toBe(0);
    // The phase's report (and its notifications) count the steps it ran (issue 71: the expand read 0/0 steps).
    const steps = (JSON.parse(readFileSync(report, 'utf8')) as { steps: { status: string }[] }).steps;
    expect(steps.length).toBeGreaterThan(0);
    expect(steps.every((s) => s.status === 'applied')).toBe(true);

    await ws.query('prod', 'CREATE OR REPLACE VIEW a.v AS SELECT id, 1 AS hand FROM a.t');
    const status = (await ws.dbee('status', a, vars)).stdout;
    expect(status, status).toContain('drift: yes');
    const rows = await ledgerRows(ws, 'prod');
    for (const command of ['complete', 'abort'] as const)
      for (const dryRun of [true, false]) {
        const r = await ws.dbee(command, { ...a, dryRun, assumeYes: true }, vars);
        expect(r.code, `${command}${dryRun ? ' --dry-run' : ''}: ${r.stderr}`).toBe(1);
        expect(r.stderr).toMatch(/a on prod was changed outside dbee since deployment #\d+/);
      }
    // Nothing applied, nothing recorded: the edit is still there and still drift.
    expect(await ledgerRows(ws, 'prod')).toBe(rows);
    expect(await viewColumns(ws, 'prod')).toEqual(['id', 'hand']);
    expect((await ws.dbee('status', a, vars)).stdout).toContain('drift: yes');

    // Put back by hand: complete goes on, and its row says what it finished (issue 71: package, commit, smoke checks).
    await ws.query('prod', 'DROP VIEW a.v');
    await ws.query('prod', 'CREATE VIEW a.v AS SELECT id FROM a.t');
    const done = await ws.dbee('complete', { ...a, assumeYes: true }, vars);
    expect(done.code, done.stderr).toBe(0);
    expect((await ws.dbee('status', a, vars)).stdout).toContain('drift: no');
    const log = JSON.parse((await ws.dbee('log', { ...a, format: 'json' }, vars)).stdout) as {
      deployments: {
        kind: string;
        package: string | null;
        commit: string | null;
        planChecksum: string;
        steps: { status: string }[];
        smoke: { summary: string };
      }[];
    };
    const expand = log.deployments.find((d) => d.kind === 'expand')!;
    const complete = log.deployments.find((d) => d.kind === 'complete')!;
    expect(complete.package).toBe(expand.package);
    expect(complete.package).toMatch(/dist[/\\]v2$/);
    expect(complete.commit).toBe(expand.commit);
    expect(complete.planChecksum).toBe(expand.planChecksum);
    expect(complete.smoke.summary).toMatch(/^(\d+)\/\1 passed$/);
    // Each phase's row counts what it did.
    for (const d of [expand, complete]) {
      expect(d.steps.length).toBeGreaterThan(0);
      expect(d.steps.every((s) => s.status === 'applied')).toBe(true);
    }
    const text = (await ws.dbee('log', a, vars)).stdout;
    expect(text).not.toMatch(/steps:\s+0\/0 applied/);
  });

  it('a copy of prod registered under another name is judged by its own ledger: deploy --package refuses its hand edit', async () => {
    const ws = await workspace(['prod']);
    const vars = ws.vars('prod');
    expect((await ws.dbee('plan', { project: 'a', out: 'dist/v1' }, vars)).code).toBe(0);
    expect((await ws.dbee('deploy', { project: 'a', env: 'prod', package: 'dist/v1' }, vars)).code).toBe(0);
    // prod2: a restored copy of prod's database (its ledger records environment prod).
    const copy = await copyOf(engine, ws, 'prod', 'prod2');
    cleanups.push(copy.drop);
    const yaml = readFileSync(join(ws.w.root, 'dbee.yaml'), 'utf8');
    const key = engine === 'postgres' ? 'url' : 'embedded';
    ws.w.write('dbee.yaml', `${yaml}  prod2:\n    engine: postgres\n    connection: { ${key}: "\${P_PROD2}" }\n`);
    const both = { ...vars, P_PROD2: copy.target };
    await copy.query('CREATE OR REPLACE VIEW a.v AS SELECT id, 1 AS hand FROM a.t');
    // The next package: a new function and the view changed (the hand-edited view cannot take it).
    ws.w.write('a/g.sql', "CREATE FUNCTION a.g() RETURNS int LANGUAGE sql AS 'SELECT 2';");
    ws.w.write('a/v.sql', 'CREATE OR REPLACE VIEW a.v AS SELECT id, id + 1 AS next FROM a.t;');
    expect((await ws.dbee('plan', { project: 'a', out: 'dist/v2' }, vars)).code).toBe(0);
    const rows = (await copy.query<{ n: number }>('SELECT count(*)::int AS n FROM dbee.deployments'))[0]!.n;
    for (const dryRun of [true, false]) {
      const r = await ws.dbee('deploy', { project: 'a', env: 'prod2', package: 'dist/v2', dryRun }, both);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(
        /a on prod2 was changed outside dbee since deployment #\d+ \(recorded in this database as environment prod\)/,
      );
    }
    expect((await copy.query<{ n: number }>('SELECT count(*)::int AS n FROM dbee.deployments'))[0]!.n).toBe(rows);
    expect(await copy.query("SELECT 1 FROM pg_proc WHERE proname = 'g'")).toEqual([]);
    expect(
      (
        await copy.query<{ column_name: string }>(
          "SELECT column_name FROM information_schema.columns WHERE table_schema = 'a' AND table_name = 'v' ORDER BY ordinal_position",
        )
      ).map((c) => c.column_name),
    ).toEqual(['id', 'hand']);
  });

  it('a plan of no steps is judged by the same gates in the real run as in its dry run', async () => {
    const ws = await workspace(['prod']);
    const vars = ws.vars('prod');
    expect((await ws.dbee('deploy', { project: 'a', env: 'prod' }, vars)).code).toBe(0);
    const closedDay = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][(new Date().getUTCDay() + 3) % 7];
    const yaml = readFileSync(join(ws.w.root, 'dbee.yaml'), 'utf8');
    ws.w.write(
      'dbee.yaml',
      `${yaml}    gates: { protected: true, maintenanceWindows: [{ days: [${closedDay}], from: "00:00", to: "23:59" }] }\n`,
    );
    const rows = await ledgerRows(ws, 'prod');
    for (const dryRun of [true, false]) {
      const r = await ws.dbee('deploy', { project: 'a', env: 'prod', dryRun }, vars);
      expect(r.code, `${dryRun ? 'dry run' : 'real run'}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain('maintenance window');
      expect(r.stderr).toContain('is protected');
    }
    expect(await ledgerRows(ws, 'prod')).toBe(rows);
  });
});

/** A copy of `env`'s database (`CREATE DATABASE ... TEMPLATE` on the server, the folder copied for PGlite). */
async function copyOf(
  engine: EngineName,
  ws: Awaited<ReturnType<typeof promotionWorkspace>>,
  env: string,
  name: string,
): Promise<{
  target: string;
  query: <T = Record<string, unknown>>(sql: string) => Promise<T[]>;
  drop: () => Promise<void>;
}> {
  if (engine === 'pglite') {
    const target = `.dbee/${name}`;
    cpSync(join(ws.w.root, `.dbee/${env}`), join(ws.w.root, target), { recursive: true });
    const map = new Map([[name, target]]);
    const { targetQuery } = await import('../promotion/helpers');
    const q = targetQuery('pglite', ws.w.root, map);
    return {
      target,
      query: (sql) => q(name, sql),
      drop: async () => rmSync(join(ws.w.root, target), { recursive: true }),
    };
  }
  const source = (await ws.query<{ db: string }>(env, 'SELECT current_database() AS db'))[0]!.db;
  const db = `${source}_${name}`.slice(0, 60);
  await queryUrl(SERVER_URL, `CREATE DATABASE ${db} TEMPLATE ${source}`);
  const target = new URL(SERVER_URL);
  target.pathname = `/${db}`;
  return {
    target: target.toString(),
    query: (sql) => queryUrl(target.toString(), sql),
    drop: async () => {
      await queryUrl(SERVER_URL, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    },
  };
}
