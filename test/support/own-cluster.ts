import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A PostgreSQL cluster of a test's own, for server settings the shared server on 5432 cannot take without a restart
 * (which no test may do): initdb in a temporary folder, started on a free port of 127.0.0.1 with the given settings,
 * stopped and removed by `stop()`. As root (CI), the server runs as the `postgres` user, as initdb requires.
 */
export class OwnCluster {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly bin: string,
    private readonly options: string,
  ) {}

  /** `settings` become `-c name=value` on the server's command line (e.g. `shared_preload_libraries`). */
  static async start(settings: Record<string, string> = {}): Promise<OwnCluster> {
    const bin = serverBin();
    // Not under the run's scratch folder: the server runs as another user, who must be able to reach its folder.
    const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'dbee-cluster-'));
    chmodSync(dir, 0o700);
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      chownSync(dir, uid, gid);
    }
    const run = (cmd: string, args: string[]) =>
      execFileSync(asRoot ? 'runuser' : cmd, asRoot ? ['-u', 'postgres', '--', cmd, ...args] : args, { stdio: 'pipe' });
    const data = join(dir, 'data');
    run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync']);
    const port = await freePort();
    const options = [
      `-p ${port}`,
      '-c listen_addresses=127.0.0.1',
      `-k ${dir}`,
      '-c fsync=off',
      ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`),
    ].join(' ');
    const cluster = new OwnCluster(dir, port, bin, options);
    cluster.start();
    return cluster;
  }

  private ctl(args: string[]): void {
    const asRoot = process.getuid?.() === 0;
    const ctl = join(this.bin, 'pg_ctl');
    const all = ['-D', join(this.dir, 'data'), ...args];
    execFileSync(asRoot ? 'runuser' : ctl, asRoot ? ['-u', 'postgres', '--', ctl, ...all] : all, { stdio: 'pipe' });
  }

  private start(): void {
    this.ctl(['-o', this.options, '-l', join(this.dir, 'server.log'), '-w', 'start']);
  }

  /**
   * A server crash: what `pg_ctl stop -m immediate` does (SIGQUIT to the postmaster: every server process quits at
   * once and nothing more is written, so WAL not yet handed to the operating system is lost, as in a power cut for
   * commits that did not wait for the disk), sent from this process so that it lands within a millisecond; then the
   * same cluster started again, which replays its WAL (crash recovery).
   */
  async crashAndRestart(): Promise<void> {
    const pid = Number(readFileSync(join(this.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGQUIT');
    for (let i = 0; i < 1000 && alive(pid); i++) await new Promise((res) => setTimeout(res, 10));
    this.start();
  }

  /** A connection URL to `database` on this cluster. */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** The files of the server's log folder (`log/` under the data folder, with `logging_collector`). */
  logFiles(): string[] {
    const log = join(this.dir, 'data', 'log');
    return existsSync(log) ? readdirSync(log).map((f) => join(log, f)) : [];
  }

  async stop(): Promise<void> {
    try {
      this.ctl(['-m', 'immediate', '-w', 'stop']);
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** The server binaries of the installed PostgreSQL (Debian: /usr/lib/postgresql/<major>/bin), newest first. */
function serverBin(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const m of majors) if (existsSync(join(root, m, 'bin', 'initdb'))) return join(root, m, 'bin');
  const fromConfig = execFileSync('pg_config', ['--bindir']).toString().trim();
  if (existsSync(join(fromConfig, 'initdb'))) return fromConfig;
  throw new Error('no PostgreSQL server binaries (initdb) on this machine: install the server package');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
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
