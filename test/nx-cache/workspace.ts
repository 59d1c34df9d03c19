import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { PgliteConnection } from '../../packages/postgres/src/connection/pglite-connection';
import { releasePglite } from '../support/pglite-share';
import { childEnvironment } from '../support/child-env';

const run = promisify(execFile);
const REPO = resolve(__dirname, '..', '..');
const NX = require.resolve('nx/bin/nx.js', { paths: [REPO] });

/**
 * A throw-away Nx workspace outside the repository that uses this repository's dbee through a node_modules link
 * (the installed plugin's paths: node_modules/@dbee/nx/bin/fingerprint.js), compiled (dist/, built by the test run).
 */
export class NxWorkspace {
  constructor(readonly root: string) {}

  static create(files: Record<string, string>): NxWorkspace {
    const ws = new NxWorkspace(mkdtempSync(join(tmpdir(), 'dbee-nx-cache-')));
    ws.write({
      'package.json': '{ "name": "nx-cache-test", "private": true }\n',
      'nx.json': JSON.stringify({
        analytics: false,
        neverConnectToCloud: true,
        cacheDirectory: '.nx/cache',
        plugins: ['@dbee/nx'],
      }),
      '.gitignore': 'node_modules\n.nx/\n.dbee/\ndist/\n',
      ...files,
    });
    symlinkSync(join(REPO, 'node_modules'), join(ws.root, 'node_modules'), 'dir');
    return ws;
  }

  /** A second clone of this workspace's committed files, with its own (empty) Nx cache and .dbee folder. */
  async clone(): Promise<NxWorkspace> {
    const target = mkdtempSync(join(tmpdir(), 'dbee-nx-clone-'));
    rmSync(target, { recursive: true });
    await run('git', ['clone', '-q', this.root, target]);
    symlinkSync(join(REPO, 'node_modules'), join(target, 'node_modules'), 'dir');
    return new NxWorkspace(target);
  }

  async commit(): Promise<void> {
    await run('git', ['init', '-q'], { cwd: this.root });
    await run('git', ['add', '-A'], { cwd: this.root });
    await run('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'sources'], {
      cwd: this.root,
    });
  }

  write(files: Record<string, string>): void {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(this.root, path)), { recursive: true });
      writeFileSync(join(this.root, path), text);
    }
  }

  /** `nx <args>` in this workspace, without daemon or cloud; never throws, returns the whole output. */
  async nx(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; output: string }> {
    await releasePglite();
    const clean = childEnvironment();
    try {
      const { stdout, stderr } = await run(process.execPath, [NX, ...args], {
        cwd: this.root,
        // Nx and every process it starts run dbee's compiled dist/, as in a user's workspace: the test run builds it
        // first (test/support/global-setup.ts); DBEE_USE_DIST keeps bin/*.js on dist/ inside this repository.
        env: {
          ...clean,
          DBEE_USE_DIST: '1',
          NX_DAEMON: 'false',
          NX_TUI: 'false',
          NX_NO_CLOUD: 'true',
          NX_SKIP_NX_CACHE: undefined,
          CI: 'true',
          FORCE_COLOR: '0',
          ...env,
        },
        maxBuffer: 64 * 1024 * 1024,
      });
      return { code: 0, output: stdout + stderr };
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof err.code === 'number' ? err.code : 1, output: `${err.stdout ?? ''}${err.stderr ?? ''}` };
    }
  }

  /** Run SQL on the embedded database of this workspace (no other process may have it open). */
  async sql(dataDir: string, statements: string): Promise<void> {
    const conn = await PgliteConnection.open(join(this.root, dataDir), 'pglite:test');
    try {
      await conn.execute(statements);
    } finally {
      await conn.close();
    }
  }

  /** Replace the data folder `dataDir` with a copy of `snapshot` (PGlite closed first: none may hold the old one). */
  async restore(dataDir: string, snapshot: string): Promise<void> {
    await releasePglite();
    rmSync(join(this.root, dataDir), { recursive: true, force: true });
    cpSync(snapshot, join(this.root, dataDir), { recursive: true });
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** What an Nx run says about one task: `[local cache]`, `[remote cache]` or a run. */
export function cacheSource(output: string, task: string): 'local' | 'remote' | 'run' {
  // Nx echoes the command first and prints the task's line with its cache source last.
  const plain = output.replace(/\u001b\[[0-9;]*m/g, '');
  const line =
    plain
      .split('\n')
      .filter((l) => l.includes(`nx run ${task}`))
      .pop() ?? '';
  if (line.includes('[remote cache]')) return 'remote';
  if (line.includes('[local cache]') || line.includes('existing outputs match the cache')) return 'local';
  return 'run';
}

/** One request the cache server answered. */
export interface CacheRequest {
  method: string;
  hash: string;
  status: number;
}

/**
 * A self-hosted Nx remote cache on 127.0.0.1, as Nx's OpenAPI specification describes it: `PUT /v1/cache/{hash}`
 * stores a tar archive (409 when the hash is already stored), `GET /v1/cache/{hash}` returns it (404 when absent),
 * both with `Authorization: Bearer <token>` (401 without it).
 */
export class RemoteCacheServer {
  readonly entries = new Map<string, Buffer>();
  readonly requests: CacheRequest[] = [];
  private server?: Server;
  url = '';

  constructor(readonly token: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const hash = /^\/v1\/cache\/([^/?]+)/.exec(req.url ?? '')?.[1];
      const reply = (status: number, body?: Buffer) => {
        this.requests.push({ method: req.method ?? '', hash: hash ?? '', status });
        res.writeHead(
          status,
          body ? { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length } : {},
        );
        res.end(body);
      };
      if (req.headers.authorization !== `Bearer ${this.token}`) return reply(401);
      if (!hash) return reply(404);
      if (req.method === 'GET') {
        const entry = this.entries.get(hash);
        return entry ? reply(200, entry) : reply(404);
      }
      if (req.method === 'PUT') {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          if (this.entries.has(hash)) return reply(409);
          this.entries.set(hash, Buffer.concat(chunks));
          reply(200);
        });
        return;
      }
      reply(405);
    });
    await new Promise<void>((done) => this.server!.listen(0, '127.0.0.1', done));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Environment that points Nx at this server. */
  env(): Record<string, string> {
    return { NX_SELF_HOSTED_REMOTE_CACHE_SERVER: this.url, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: this.token };
  }

  async stop(): Promise<void> {
    await new Promise<void>((done) => (this.server ? this.server.close(() => done()) : done()));
  }
}
