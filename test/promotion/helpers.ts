import { join } from 'node:path';
import { queryUrl, scratchDatabase } from '../support/pg';
import { openEmbeddedFolder } from '../support/pglite';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';

export type EngineName = 'pglite' | 'postgres';
export const ENGINES: EngineName[] = ['pglite', 'postgres'];

/** Secret the promotion records are signed with in these tests. */
export const KEY = { DBEE_PROMOTION_KEY: 'a-test-secret-of-some-length-0123456789' };

/**
 * A workspace with project `a` (table a.t, a smoke check that fails where a table `smoke_blocker` exists) and environments whose connection is
 * `${P_<ENV>}`: `vars(...envs)` sets the variables of the environments that can be reached in a run; the others
 * cannot be (their variable is unset). `gates` adds each environment's gates (YAML flow mappings).
 */
export async function promotionWorkspace(engine: EngineName, envs: string[], gates: Record<string, string> = {}) {
  const { target, drops, key } = await environmentTargets(engine, envs, 'dbee_promo');
  const yaml = [
    'version: 1',
    `defaultEnvironment: ${envs[0]}`,
    'environments:',
    ...envs.flatMap((e) => [
      `  ${e}:`,
      '    engine: postgres',
      `    connection: { ${key}: "\${P_${e.toUpperCase()}}" }`,
      ...(gates[e] ? [`    gates: ${gates[e]}`] : []),
    ]),
    '',
  ].join('\n');
  const w = tempWorkspace({
    'dbee.yaml': yaml,
    'a/db.yaml': 'version: 1\nname: a\nengine: postgres\nschemas: [a]\n',
    'a/t.sql': 'CREATE SCHEMA a;\nCREATE TABLE a.t (id int PRIMARY KEY);',
    // Fails where a table public.smoke_blocker exists (a test creates it to make the checks fail on one environment).
    'a/smoke/t.yaml':
      "checks:\n  - name: nothing blocks\n    query: SELECT count(*)::int AS n FROM pg_class WHERE relname = 'smoke_blocker' AND relkind = 'r'\n    rows: [{ n: 0 }]\n",
  });
  const vars = (...reachable: string[]): NodeJS.ProcessEnv =>
    Object.fromEntries(reachable.map((e) => [`P_${e.toUpperCase()}`, target.get(e)!]));
  const query = targetQuery(engine, w.root, target);
  /** Whether the project's table exists on `env`. */
  const deployed = async (env: string) =>
    (await query<{ n: number }>(env, "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'a'"))[0]!.n > 0;
  const dbee = (
    command: Parameters<typeof run>[1],
    options: Record<string, unknown> & { project: string },
    env: NodeJS.ProcessEnv,
  ) => run(w.root, command, options, env);
  const cleanup = async () => {
    for (const d of drops) await d();
    w.remove();
  };
  return { w, vars, query, deployed, dbee, cleanup };
}

/**
 * Each environment's database: a scratch database named `<prefix>_<env>_...` on the server (`drops` gives them back),
 * or a PGlite folder `.dbee/<env>`; `key` is the connection key that names it in dbee.yaml.
 */
export async function environmentTargets(engine: EngineName, envs: string[], prefix: string) {
  const target = new Map<string, string>();
  const drops: (() => Promise<void>)[] = [];
  for (const e of envs) {
    if (engine === 'postgres') {
      const db = await scratchDatabase(`${prefix}_${e}`);
      drops.push(db.drop);
      target.set(e, db.url);
    } else target.set(e, `.dbee/${e}`);
  }
  return { target, drops, key: engine === 'postgres' ? 'url' : 'embedded' };
}

/** Rows of `sql` on an environment's database (`environmentTargets`), read outside dbee. */
export function targetQuery(engine: EngineName, root: string, target: ReadonlyMap<string, string>) {
  return async <T = Record<string, unknown>>(env: string, sql: string): Promise<T[]> => {
    const t = target.get(env)!;
    if (engine === 'postgres') return queryUrl<T>(t, sql);
    const c = await openEmbeddedFolder(join(root, t), 'test');
    try {
      return (await c.query(sql)).rows as T[];
    } finally {
      await c.close();
    }
  };
}
