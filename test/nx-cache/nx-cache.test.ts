import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runDbeeCommand } from '../../packages/cli/src';
import { createDatabase, scratchDatabase } from '../support/pg';
import { releasePglite } from '../support/pglite-share';
import { NxWorkspace, RemoteCacheServer, cacheSource } from './workspace';

/**
 * The diff target's cache, end to end with the real `nx`: a local cache and a self-hosted Nx remote cache
 * (RemoteCacheServer, on 127.0.0.1) shared by two clones. A cached diff is served only for identical sources,
 * variables and databases; two databases restored from one snapshot that drift differently each get their own
 * diff, from Nx's caches and from dbee's own diff cache (.dbee/cache, which survives the restores below).
 */

const DBEE_YAML = `version: 1
defaultEnvironment: local
environments:
  local:
    engine: postgres
    connection: { embedded: .dbee/local }
    variables: { label: '\${DBEE_LABEL}' }
  server:
    engine: postgres
    connection: { url: '\${DBEE_SERVER_URL}' }
    variables: { label: '\${DBEE_LABEL}' }
`;

const SOURCES = {
  'dbee.yaml': DBEE_YAML,
  'db/x/db.yaml': 'version: 1\nname: x\nengine: postgres\nschemas: [x]\n',
  'db/x/schema/x/schema.sql': 'CREATE SCHEMA x;\n',
  'db/x/schema/x/tables/t.sql': "CREATE TABLE x.t (id integer PRIMARY KEY, name text DEFAULT '{{label}}');\n",
};

const TASK = 'db-x:diff';
const server = new RemoteCacheServer('s3cret-token');
let ws1: NxWorkspace;
let ws2: NxWorkspace;
let snapshots: string;

async function deploy(ws: NxWorkspace, env: Record<string, string>): Promise<void> {
  let output = '';
  const sink = new Writable({ write: (chunk, _e, done) => ((output += String(chunk)), done()) });
  const code = await runDbeeCommand(
    'deploy',
    { project: 'x', env: env.DBEE_ENV },
    { workspaceRoot: ws.root, stdout: sink, stderr: sink, interactive: false, env: { ...process.env, ...env } },
  );
  expect(code, output).toBe(0);
}

/**
 * `nx run db-x:diff`: where Nx took the result from, and the diff it printed. Nx loads its plugins in the process
 * itself here (NX_ISOLATE_PLUGINS=false), not in one process per plugin: ~1 s of CPU less per command, and this file
 * tests what the caches serve, not how Nx loads @dbee/nx; generators-nx.test.ts and `npm run test:installed` run Nx
 * as users do, with isolation.
 */
async function diff(ws: NxWorkspace, env: Record<string, string>): Promise<{ source: string; output: string }> {
  const r = await ws.nx(['run', TASK, '--outputStyle=static'], {
    ...server.env(),
    NX_ISOLATE_PLUGINS: 'false',
    ...env,
  });
  expect(r.code, r.output).toBe(0);
  return { source: cacheSource(r.output, TASK), output: r.output };
}

beforeAll(async () => {
  await server.start();
  ws1 = NxWorkspace.create(SOURCES);
  await ws1.commit();
  ws2 = await ws1.clone();
  snapshots = mkdtempSync(join(tmpdir(), 'dbee-nx-snap-'));
});

afterAll(async () => {
  await server.stop();
  ws1?.remove();
  ws2?.remove();
  if (snapshots) rmSync(snapshots, { recursive: true, force: true });
});

describe('embedded databases restored from one snapshot [pglite]', () => {
  const env = { DBEE_ENV: 'local', DBEE_LABEL: 'a' };
  const snapshot = () => join(snapshots, 'local');
  const drifted = async (ws: NxWorkspace, column: string) => {
    await ws.restore('.dbee/local', snapshot());
    await ws.sql('.dbee/local', `ALTER TABLE x.t ADD COLUMN ${column} integer`);
  };

  beforeAll(async () => {
    await deploy(ws1, env);
    await releasePglite(); // the deployment's PGlite writes everything back before the folder is copied
    cpSync(join(ws1.root, '.dbee/local'), snapshot(), { recursive: true });
  });

  test('each drift gets its own diff, locally and through the remote cache on a second clone', async () => {
    await drifted(ws1, 'hotfix');
    const a = await diff(ws1, env);
    expect(a.source).toBe('run');
    expect(a.output).toContain('DROP COLUMN hotfix');

    await drifted(ws1, 'legacy_flag');
    const b = await diff(ws1, env);
    expect(b.source).toBe('run');
    expect(b.output).toContain('DROP COLUMN legacy_flag');
    expect(b.output).not.toContain('hotfix');

    // The same database again (same snapshot, same drift): Nx reuses its local result, which is right.
    await drifted(ws1, 'hotfix');
    const again = await diff(ws1, env);
    expect(again.source).toBe('local');
    expect(again.output).toContain('DROP COLUMN hotfix');

    // Second clone, empty local cache: identical sources and database come from the remote cache (a drift of the
    // same snapshot that no cache holds is computed, as `b` above shows).
    await drifted(ws2, 'legacy_flag');
    const remote = await diff(ws2, env);
    expect(remote.source).toBe('remote');
    // The build (sources and variables only) came from the remote cache too.
    expect(cacheSource(remote.output, 'db-x:build')).toBe('remote');
    expect(remote.output).toContain('DROP COLUMN legacy_flag');
    expect(remote.output).not.toContain('hotfix');

    expect(server.requests.filter((r) => r.method === 'PUT' && r.status === 200).length).toBeGreaterThanOrEqual(3);
    expect(server.requests.filter((r) => r.status === 401)).toEqual([]);
  });

  test('a different value of a variable that reaches the sources is never served from a cache', async () => {
    await drifted(ws2, 'legacy_flag');
    const changed = await diff(ws2, { ...env, DBEE_LABEL: 'b' });
    expect(changed.source).toBe('run');
    expect(cacheSource(changed.output, 'db-x:build')).toBe('run');
    expect(changed.output).toMatch(/SET DEFAULT 'b'/);
    expect(changed.output).toContain('DROP COLUMN legacy_flag');

    const other = await diff(ws1, { ...env, DBEE_LABEL: 'b' });
    // ws1 still holds the hotfix drift: the remote entry of ws2 (another database) must not be reused.
    expect(other.source).toBe('run');
    expect(other.output).toContain('DROP COLUMN hotfix');
  });
});

describe('one server database shared by two clones [postgres]', () => {
  test('reuses the remote result for the same database, and never for another database with the same URL', async () => {
    const db = await scratchDatabase('dbee_nxcache');
    try {
      const env = { DBEE_ENV: 'server', DBEE_SERVER_URL: db.url, DBEE_LABEL: 'a' };
      await deploy(ws1, env);
      const first = await diff(ws1, env);
      expect(first.source).toBe('run');
      expect(first.output).not.toContain('DROP');

      expect((await diff(ws2, env)).source).toBe('remote');

      // Dropped and created again under the same name, with the same definitions: another database.
      await db.drop();
      const again = await createDatabase(db.name);
      expect(again).toBe(db.url);
      await deploy(ws2, env);
      expect((await diff(ws2, env)).source).toBe('run');
    } finally {
      await db.drop();
    }
  });
});
