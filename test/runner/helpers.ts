import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Connection } from '@dbee/core';
import { openPostgres, PgliteConnection } from '@dbee/postgres';
import { scratchDatabase } from '../support/pg';
import { copyPgliteTemplate } from '../support/pglite';
import { releasePglite } from '../support/pglite-share';
import { tempWorkspace } from '../support/workspace';

export const BIN = join(__dirname, '..', '..', 'packages', 'cli', 'bin', 'dbee.js');

/** A database the runner suites deploy to: a file-backed PGlite folder, or a scratch database on the server. */
export interface Target {
  engine: 'pglite' | 'postgres';
  /** Environment variables the workspace's dbee.yaml needs. */
  vars: NodeJS.ProcessEnv;
  /** Open a connection (PGlite: only while no command runs, it allows one opener). */
  connect(): Promise<Connection>;
  /** Run one statement on a fresh connection. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Run a script (statements separated by `;`) on a fresh connection. */
  execute(sql: string): Promise<void>;
  done(): Promise<void>;
}

export interface TestWorkspace {
  root: string;
  target: Target;
  write(rel: string, text: string): void;
  remove(): Promise<void>;
}

/**
 * `dbee.yaml` with one environment `target`, plus extra YAML under it (gates, deploy) and at the top level.
 * PGlite: `embedded: .dbee/db`; server: `url: ${DBEE_RUNNER_URL}`.
 */
export function workspaceYaml(engine: Target['engine'], options: { environment?: string; top?: string } = {}): string {
  const connection = engine === 'pglite' ? 'embedded: .dbee/db' : 'url: ${DBEE_RUNNER_URL}';
  const indent = (text: string, n: number) =>
    text
      .trim()
      .split('\n')
      .map((l) => ' '.repeat(n) + l)
      .join('\n');
  return [
    'version: 1',
    'defaultEnvironment: target',
    options.top ? options.top.trim() : '',
    'environments:',
    '  target:',
    '    engine: postgres',
    '    connection:',
    `      ${connection}`,
    options.environment ? indent(options.environment, 4) : '',
    '',
  ]
    .filter((l) => l !== '')
    .join('\n');
}

/** A temporary workspace with `files` and a fresh database for it. `dbee.yaml` defaults to {@link workspaceYaml}. */
export async function workspaceWith(engine: Target['engine'], files: Record<string, string>): Promise<TestWorkspace> {
  const w = tempWorkspace({ 'dbee.yaml': workspaceYaml(engine), ...files });
  const target = engine === 'pglite' ? await pgliteTarget(w.root) : await serverTarget();
  return {
    root: w.root,
    target,
    write: w.write,
    async remove() {
      await target.done();
      w.remove();
    },
  };
}

/**
 * A target whose connections `connect` opens: `query` and `execute` each on a connection of their own, closed after.
 * `server` a scratch database on the server (or a test's own cluster), `pglite` an embedded folder.
 */
export function connectedTarget(
  engine: Target['engine'],
  vars: NodeJS.ProcessEnv,
  connect: () => Promise<Connection>,
  done: () => Promise<void>,
): Target {
  const on = async <T>(f: (c: Connection) => Promise<T>): Promise<T> => {
    const c = await connect();
    try {
      return await f(c);
    } finally {
      await c.close();
    }
  };
  return {
    engine,
    vars,
    connect,
    query: (sql, params) => on(async (c) => (await c.query(sql, params)).rows as never[]),
    execute: (sql) => on((c) => c.execute(sql)),
    done,
  };
}

async function pgliteTarget(root: string): Promise<Target> {
  const dataDir = join(root, '.dbee', 'db');
  await copyPgliteTemplate(dataDir);
  return connectedTarget(
    'pglite',
    {},
    () => PgliteConnection.open(dataDir, 'pglite:test'),
    async () => {},
  );
}

async function serverTarget(): Promise<Target> {
  const db = await scratchDatabase('dbee_run');
  const connect = () => openPostgres({ kind: 'server', config: { connectionString: db.url }, description: db.name });
  return connectedTarget('postgres', { DBEE_RUNNER_URL: db.url }, connect, db.drop);
}

export const ENGINES = ['pglite', 'postgres'] as const;

/** A project `db.yaml` owning schema `name`. */
export const dbYaml = (name: string, extra = '') =>
  `version: 1\nname: ${name}\nengine: postgres\nschemas: [${name}]\n${extra}`;

const SNAPSHOT_SQL = `
SELECT 'namespace' AS what, nspname AS name, '' AS detail FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' AND nspname <> ALL($1::text[])
UNION ALL
SELECT 'relation', n.nspname || '.' || c.relname, c.relkind::text || ' ' || coalesce((
    SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                      || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), ''), ', ' ORDER BY a.attnum)
      FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '')
  || CASE WHEN c.relkind IN ('v', 'm') THEN ' AS ' || pg_get_viewdef(c.oid) WHEN c.relkind = 'i' THEN ' ' || pg_get_indexdef(c.oid) ELSE '' END
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' AND n.nspname <> ALL($1::text[])
UNION ALL
SELECT 'routine', n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) ELSE p.prokind::text END
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' AND n.nspname <> ALL($1::text[])
UNION ALL
SELECT 'type', n.nspname || '.' || t.typname, t.typtype::text || coalesce((SELECT ' ' || string_agg(enumlabel::text, ',' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = t.oid), '')
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' AND n.nspname <> ALL($1::text[])
UNION ALL
SELECT 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(c.oid)
  FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
 WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' AND n.nspname <> ALL($1::text[])
UNION ALL
SELECT 'trigger', tgrelid::regclass::text || '.' || tgname, pg_get_triggerdef(t.oid)
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE NOT t.tgisinternal AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> ALL($1::text[])
ORDER BY 1, 2, 3`;

/**
 * The database's catalog (names, columns, view, routine, index, constraint and trigger definitions; no oids), and
 * unless `withLedger` is false, every row of the ledger tables. `exclude` leaves schemas out.
 */
export async function snapshot(
  target: Target,
  options: { withLedger?: boolean; exclude?: string[] } = {},
): Promise<{ catalog: string[]; ledger: Record<string, unknown[]>; hash: string }> {
  const c = await target.connect();
  try {
    const exclude = [...(options.exclude ?? []), ...(options.withLedger === false ? ['dbee'] : [])];
    const rows = (await c.query<{ what: string; name: string; detail: string }>(SNAPSHOT_SQL, [exclude])).rows;
    const catalog = rows.map((r) => `${r.what} ${r.name}: ${r.detail}`);
    const ledger: Record<string, unknown[]> = {};
    if (options.withLedger !== false) {
      const tables = (
        await c.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'dbee' ORDER BY 1")
      ).rows;
      for (const { t } of tables) ledger[t] = (await c.query(`SELECT * FROM dbee.${t} ORDER BY 1, 2`)).rows;
    }
    const hash = createHash('sha256').update(JSON.stringify({ catalog, ledger })).digest('hex');
    return { catalog, ledger, hash };
  } finally {
    await c.close();
  }
}

/** Rows of the user data of a table, for comparisons. */
export async function rows(target: Target, sql: string): Promise<Record<string, unknown>[]> {
  return target.query(sql);
}

/**
 * Spawn the real CLI: `node packages/cli/bin/dbee.js <args> --cwd <root>`; output is collected. PGlite instances the
 * test process holds are closed first, so that the child reads what they wrote (test/support/pglite-share.ts).
 */
export async function spawnDbee(
  root: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{
  child: ChildProcess;
  output: () => { stdout: string; stderr: string };
  exit: Promise<number | null>;
  waitFor(text: string, timeoutMs?: number): Promise<void>;
}> {
  await releasePglite();
  const child = spawn(process.execPath, [BIN, ...args, '--cwd', root], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (stdout.includes(w.text) || stderr.includes(w.text)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout!.on('data', (d) => {
    stdout += String(d);
    check();
  });
  child.stderr!.on('data', (d) => {
    stderr += String(d);
    check();
  });
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    output: () => ({ stdout, stderr }),
    exit,
    waitFor(text, timeoutMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for "${text}"; stdout:\n${stdout}\nstderr:\n${stderr}`)),
          timeoutMs,
        );
        waiters.push({
          text,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        check();
        void exit.then(() => {
          if (waiters.some((w) => w.text === text)) {
            clearTimeout(timer);
            reject(new Error(`dbee exited before printing "${text}"; stdout:\n${stdout}\nstderr:\n${stderr}`));
          }
        });
      });
    },
  };
}

export function removeLater(path: string): () => void {
  return () => rmSync(path, { recursive: true, force: true });
}
