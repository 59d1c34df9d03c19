import { join } from 'node:path';
import type { PgliteConnection } from '@dbee/postgres';
import { queryUrl, scratchDatabase } from '../support/pg';
import { openEmbeddedFolder } from '../support/pglite';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';
import type { CommandName } from '@dbee/cli';

/** A dbee.yaml with environments `local` (PGlite in .dbee/local), `server` (a scratch database) and more of each. */
export function workspaceYaml(extra = '', env1 = ''): string {
  return `version: 1
defaultEnvironment: local
environments:
  local:
    engine: postgres
    connection: { embedded: .dbee/local }
${env1}
  local2:
    engine: postgres
    connection: { embedded: .dbee/local2 }
  server:
    engine: postgres
    connection: { url: "\${EM_SERVER_URL}" }
${env1}
  server2:
    engine: postgres
    connection: { url: "\${EM_SERVER2_URL}" }
${extra}`;
}

export type Engine = 'pglite' | 'postgres';

/** Opens embedded environment n's folder (one no command has made yet starts from the run's template folder). */
function openEmbedded(root: string, n: 1 | 2): Promise<PgliteConnection> {
  return openEmbeddedFolder(join(root, '.dbee', n === 1 ? 'local' : 'local2'), 'test');
}

/**
 * A workspace whose environments are either embedded (`local`, `local2`) or on the test server (`server`,
 * `server2`, scratch databases): `env(1)` / `env(2)` name them, `query(n, sql)` reads them, `dbee()` runs commands.
 */
export function envWorkspace(
  engine: Engine,
  files: Record<string, string>,
  yaml: { extra?: string; env1?: string } = {},
) {
  const w = tempWorkspace({ 'dbee.yaml': workspaceYaml(yaml.extra, yaml.env1), ...files });
  const vars: NodeJS.ProcessEnv = {};
  const drops: (() => Promise<void>)[] = [];
  const env = (n: 1 | 2 = 1) => (engine === 'pglite' ? (n === 1 ? 'local' : 'local2') : n === 1 ? 'server' : 'server2');
  return {
    ...w,
    env,
    vars,
    /** Create the server databases (no-op on PGlite). */
    async setup() {
      if (engine !== 'postgres') return;
      for (const [n, key] of [
        [1, 'EM_SERVER_URL'],
        [2, 'EM_SERVER2_URL'],
      ] as const) {
        void n;
        const db = await scratchDatabase('dbee_em');
        vars[key] = db.url;
        drops.push(db.drop);
      }
    },
    async teardown() {
      for (const d of drops) await d();
      w.remove();
    },
    async query<T = Record<string, unknown>>(n: 1 | 2, sql: string): Promise<T[]> {
      if (engine === 'postgres') return queryUrl<T>(String(vars[n === 1 ? 'EM_SERVER_URL' : 'EM_SERVER2_URL']), sql);
      const c = await openEmbedded(w.root, n);
      try {
        const r = await c.query(sql);
        return r.rows as T[];
      } finally {
        await c.close();
      }
    },
    /** Run statements (several allowed, no results) on environment n, as the given role when one is named. */
    async exec(n: 1 | 2, sql: string): Promise<void> {
      if (engine === 'postgres') {
        const { Client } = await import('pg');
        const c = new Client({ connectionString: String(vars[n === 1 ? 'EM_SERVER_URL' : 'EM_SERVER2_URL']) });
        await c.connect();
        try {
          await c.query(sql);
        } finally {
          await c.end();
        }
        return;
      }
      const c = await openEmbedded(w.root, n);
      try {
        await c.execute(sql);
      } finally {
        await c.close();
      }
    },
    dbee(command: CommandName, options: Record<string, unknown> & { project: string }) {
      return run(w.root, command, options, vars);
    },
  };
}
