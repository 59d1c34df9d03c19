import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { PgliteConnection } from '@dbee/postgres';
import { run } from '../support/run';
import { queryUrl, scratchDatabase } from '../support/pg';
import { openEmbeddedFolder } from '../support/pglite';
import { tempWorkspace } from '../support/workspace';

export type EngineName = 'pglite' | 'postgres';
export const ENGINES: EngineName[] = ['pglite', 'postgres'];

/** One database of a release workspace: an environment of its dbee.yaml. */
export interface Db {
  env: string;
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** Run a script as psql -f would (server) or PGlite's exec (embedded): outside dbee. */
  exec(sql: string): Promise<void>;
  /** The schema-only definition of `schema`: pg_dump -s on the server; catalog queries on PGlite (see `catalogOf`). */
  dump(schema: string): Promise<string>;
}

/**
 * A git repository holding a dbee workspace, with one environment per name in `envs` (a PGlite folder under .dbee/,
 * or a scratch database on the server). `commit(files, tag)` writes files, commits them and tags the commit.
 */
export async function releaseWorkspace(engine: EngineName, envs: string[]) {
  const urls = new Map<string, { url: string; drop(): Promise<void> }>();
  if (engine === 'postgres') for (const e of envs) urls.set(e, await scratchDatabase(`dbee_rel_${e}`));
  const yaml = [
    'version: 1',
    `defaultEnvironment: ${envs[0]}`,
    'environments:',
    ...envs.flatMap((e) => [
      `  ${e}:`,
      '    engine: postgres',
      `    connection: { ${engine === 'pglite' ? `embedded: .dbee/${e}` : `url: "\${REL_${e.toUpperCase()}_URL}"`} }`,
    ]),
    '',
  ].join('\n');
  const w = tempWorkspace({ 'dbee.yaml': yaml, '.gitignore': '.dbee/\ndist/\n' });
  const vars: NodeJS.ProcessEnv = Object.fromEntries([...urls].map(([e, d]) => [`REL_${e.toUpperCase()}_URL`, d.url]));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: w.root, encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'dev@example.com');
  git('config', 'user.name', 'dev');
  git('config', 'commit.gpgsign', 'false');
  const db = (env: string): Db => {
    const url = urls.get(env)?.url;
    const onPglite = async <T>(f: (c: PgliteConnection) => Promise<T>): Promise<T> => {
      const c = await openEmbeddedFolder(join(w.root, '.dbee', env), 'test');
      try {
        return await f(c);
      } finally {
        await c.close();
      }
    };
    return {
      env,
      query: <T>(sql: string) =>
        url ? queryUrl<T>(url, sql) : onPglite(async (c) => (await c.query(sql)).rows as T[]),
      exec: async (sql) => {
        if (url) execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', url], { input: sql, encoding: 'utf8' });
        else await onPglite((c) => c.execute(sql));
      },
      dump: async (schema) => (url ? pgDump(url, schema) : onPglite((c) => catalogOf(c, schema))),
    };
  };
  return {
    root: w.root,
    vars,
    git,
    db,
    /** Write `files` (null deletes), commit, tag. Returns the commit. */
    commit(files: Record<string, string | null>, tag: string): string {
      for (const [rel, text] of Object.entries(files)) {
        if (text === null) git('rm', '-q', rel);
        else w.write(rel, text);
      }
      git('add', '-A');
      git('commit', '-q', '-m', tag);
      git('tag', tag);
      return git('rev-parse', 'HEAD');
    },
    checkout(ref: string) {
      git('checkout', '-q', ref);
    },
    write: w.write,
    read: (rel: string) => readFileSync(join(w.root, rel), 'utf8'),
    async remove() {
      for (const d of urls.values()) await d.drop();
      w.remove();
    },
  };
}
export type ReleaseWorkspace = Awaited<ReturnType<typeof releaseWorkspace>>;

/** Run a dbee command in the workspace and expect exit 0 with nothing on stderr. */
export async function ok(
  w: ReleaseWorkspace,
  command: Parameters<typeof run>[1],
  options: Record<string, unknown> & { project: string },
): Promise<string> {
  const r = await run(w.root, command, options, w.vars);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

/** `pg_dump -s -n schema`, without the lines that name the dump or the server. */
function pgDump(url: string, schema: string): string {
  const out = execFileSync('pg_dump', ['-s', '-n', schema, '--no-owner', '--no-privileges', url], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => !l.startsWith('-- Dumped') && !l.startsWith('\\restrict') && !l.startsWith('\\unrestrict'))
    .join('\n');
}

/**
 * PGlite has no socket for pg_dump (and is newer than the server's pg_dump): its schema is read by catalog queries
 * independent of dbee's introspection, covering what pg_dump -s prints for these objects: columns in order with
 * type, default and not-null; constraints and indexes by definition; views, functions by definition.
 */
async function catalogOf(c: PgliteConnection, schema: string): Promise<string> {
  const q = async (sql: string) => (await c.query<{ line: string }>(sql, [schema])).rows.map((r) => r.line);
  const lines = [
    ...(await q(`SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' default ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-') || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END || ' #' || row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum) AS line
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = $1 AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'v', 'p') ORDER BY 1`)),
    ...(await q(
      `SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(co.oid) AS line FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace WHERE n.nspname = $1 ORDER BY 1`,
    )),
    ...(await q(
      `SELECT 'index ' || pg_get_indexdef(i.indexrelid) AS line FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 ORDER BY 1`,
    )),
    ...(await q(
      `SELECT 'view ' || c.relname || ' ' || pg_get_viewdef(c.oid) AS line FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'v' ORDER BY 1`,
    )),
    ...(await q(
      `SELECT 'function ' || pg_get_functiondef(p.oid) AS line FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 ORDER BY 1`,
    )),
  ];
  return lines.join('\n');
}
