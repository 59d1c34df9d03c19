import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A PgBouncer of a test's own (Debian's `pgbouncer` package, never the system service): a temporary folder with its
 * ini, started on a free port of 127.0.0.1 as this process's child, in transaction pooling, every user trusted, the
 * `postgres` user its admin. As root it runs as the `postgres` user (PgBouncer refuses to run as root). `stop()` ends it
 * by its pid and removes the folder.
 */
export class OwnPgBouncer {
  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly ini: string,
    private readonly pid: number,
  ) {}

  /** `databases`: the `[databases]` entries, e.g. `{ app: 'host=127.0.0.1 port=5433 dbname=app' }`. */
  static async start(databases: Record<string, string>, settings: Record<string, string> = {}): Promise<OwnPgBouncer> {
    const bin = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((p) => existsSync(p));
    if (!bin) throw new Error('pgbouncer is not installed: apt-get install -y pgbouncer (Debian package)');
    const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'dbee-pgbouncer-'));
    const port = await freePort();
    const ini = join(dir, 'pgbouncer.ini');
    const users = join(dir, 'users.txt');
    writeFileSync(users, '"postgres" ""\n');
    const lines = [
      '[databases]',
      ...Object.entries(databases).map(([k, v]) => `${k} = ${v}`),
      '',
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${users}`,
      'admin_users = postgres',
      'pool_mode = transaction',
      'default_pool_size = 20',
      'max_client_conn = 200',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      ...Object.entries(settings).map(([k, v]) => `${k} = ${v}`),
      '',
    ];
    writeFileSync(ini, lines.join('\n'));
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      for (const f of [dir, ini, users]) chownSync(f, uid, gid);
    }
    chmodSync(dir, 0o755);
    const child = spawn(bin, [...(asRoot ? ['-u', 'postgres'] : []), ini], { stdio: 'ignore', detached: false });
    const bouncer = new OwnPgBouncer(dir, port, ini, child.pid!);
    await waitForPort(port, 10_000, () => readLog(dir));
    return bouncer;
  }

  /** A connection URL to `database` through this PgBouncer (`pgbouncer`: its admin console). */
  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** Its log, for a failing test's message. */
  log(): string {
    return readLog(this.dir);
  }

  async stop(): Promise<void> {
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch {
      // Ended already.
    }
    for (let i = 0; i < 100 && alive(this.pid); i++) await new Promise((r) => setTimeout(r, 20));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function readLog(dir: string): string {
  const file = join(dir, 'pgbouncer.log');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitForPort(port: number, ms: number, log: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`pgbouncer did not listen on ${port}:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}
