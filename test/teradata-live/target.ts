import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadDriver, type TeradataSession } from '@dbee/teradata';
import { runBteq } from '../../packages/teradata/testing';
import { ansiEnvironment, teradataWorkspace, type TeradataWorkspace } from '../teradata/helpers';
import { run } from '../support/run';

/**
 * Where the change-window suite runs (test/teradata-live/README.md): a real Teradata system when `TERADATA_LIVE_URL`
 * is set, otherwise the test double (packages/teradata/testing), so that `npm test` runs every scenario of the suite
 * as a dry run of the suite itself. A scenario talks to a {@link Target} only; what it can assert on one back end and
 * not the other it asks with `live`.
 *
 * `TERADATA_LIVE_URL=teradata://<user>:<password>@<host>[:<port>]/?tmode=TERA|ANSI&logmech=TD2&perm=<bytes>&bteq=<path>`:
 * the user must be allowed to `CREATE DATABASE ... FROM` itself and `CREATE USER ... FROM` itself; `tmode` (default
 * TERA) is the session mode of the environment dbee deploys with; `perm` the PERM of each scratch database (default
 * 200 MB); `bteq` the BTEQ program (default `bteq` on PATH). `TERADATA_LIVE_RESTART`: a shell command that restarts the
 * database (e.g. `ssh root@vantage "tpareset -y dbee live suite"`); without it the restart scenario aborts the BTEQ
 * session from another one instead (`SYSLIB.AbortSessions`). `TERADATA_LIVE_BIG_ROWS`: rows of the large table of
 * the EXPLAIN scenario (default 100,000,000). `TERADATA_LIVE_KEEP=1`: each scenario's workspace is kept.
 */

export type TeradataMode = 'TERA' | 'ANSI';

/** A BTEQ run: its exit code and what it printed. */
export interface ScriptRun {
  exitCode: number;
  output: string;
}

/** How a BTEQ run is disturbed while it runs. */
export interface Disturbance {
  /** When the script sends a request matching this (double) or prints a line matching it (live)... */
  at: RegExp;
  /** ...the database restarts (live: TERADATA_LIVE_RESTART, or the session is aborted; double: the session ends). */
  restart?: boolean;
}

export interface Target {
  /** A real system (TERADATA_LIVE_URL) or the double. */
  readonly live: boolean;
  readonly tmode: TeradataMode;
  /** The project's database (`<env>_EDW`) and the ledger's. */
  readonly edw: string;
  readonly ledger: string;
  /** The workspace: a copy of examples/teradata whose environment points at the target. */
  readonly root: string;
  /** Run a dbee command in the workspace (project edw, the target's environment). */
  dbee(command: Parameters<typeof run>[1], options?: Record<string, unknown>): ReturnType<typeof run>;
  /** A session of its own, as a DBA or an application logs on (close it). */
  session(): Promise<TeradataSession>;
  /** Rows of a query on a short-lived session, column names upper case. */
  query(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** Requests on a short-lived session, in order. */
  exec(...requests: string[]): Promise<void>;
  /** `dbee plan --format bteq` into `dist/<name>` (with a logon file on a live system): the folder and scripts. */
  exportScripts(
    name: string,
    options?: Record<string, unknown>,
  ): Promise<{ dir: string; deploy: string; rollback: string }>;
  /**
   * Run a script of `dir` with BTEQ, optionally disturbed; with `spool` in the target's options, logged on as a user
   * with that SPOOL (live) or on a system whose user has it (double).
   */
  bteq(dir: string, file: string, options?: { disturb?: Disturbance }): Promise<ScriptRun>;
  /**
   * Make `request` fail with `code` the next time the script sends it (the double only: a live system's failure is
   * provoked, not injected). False on a live system: the scenario provokes it instead.
   */
  inject(request: RegExp, code: number, text: string): boolean;
  /** Drop what the target made (live: its scratch databases and user). */
  close(): Promise<void>;
}

/** The options of the suite's own connection, read from TERADATA_LIVE_URL (null: run on the double). */
export interface LiveUrl {
  host: string;
  user: string;
  password: string;
  tmode: TeradataMode;
  logmech: string | null;
  perm: string;
  bteq: string;
}

/** TERADATA_LIVE_URL taken apart (see the file comment); throws on a URL that is not one, naming what is wrong. */
export function liveUrl(text = process.env.TERADATA_LIVE_URL): LiveUrl | null {
  if (!text) return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error('TERADATA_LIVE_URL is not a URL: expected teradata://<user>:<password>@<host>/?tmode=TERA');
  }
  if (url.protocol !== 'teradata:' || !url.hostname || !url.username || !url.password)
    throw new Error(
      'TERADATA_LIVE_URL needs teradata://<user>:<password>@<host>: the user, password or host is missing',
    );
  const tmode = (url.searchParams.get('tmode') ?? 'TERA').toUpperCase();
  if (tmode !== 'TERA' && tmode !== 'ANSI') throw new Error(`TERADATA_LIVE_URL: tmode=${tmode}, expected TERA or ANSI`);
  return {
    host: url.port ? `${url.hostname}:${url.port}` : url.hostname,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    tmode,
    logmech: url.searchParams.get('logmech'),
    perm: url.searchParams.get('perm') ?? '200000000',
    bteq: url.searchParams.get('bteq') ?? 'bteq',
  };
}

const EXAMPLE = resolve(__dirname, '../../examples/teradata');

/** Options of a target: the session mode (a live target takes TERADATA_LIVE_URL's), PERM of the project's database. */
export interface TargetOptions {
  tmode?: TeradataMode;
  /** PERM bytes of the project's database: on the double its byte count (fake-space.ts), on a live system bytes. */
  perm?: number;
  /** SPOOL bytes of the user BTEQ logs on as (live: a user the suite makes; double: the system's user). */
  spool?: number;
  /** SPL warnings the double's compiler gives a procedure (see FakeSessionOptions.splWarnings). */
  splWarnings?: (sql: string) => string | null;
}

/** The target of this run: the live system of TERADATA_LIVE_URL, or a new double. */
export async function openTarget(options: TargetOptions = {}): Promise<Target> {
  const url = liveUrl();
  return url ? openLive(url, options) : openDouble(options);
}

function rowsOf(result: Awaited<ReturnType<TeradataSession['run']>>): Record<string, unknown>[] {
  const set = result.resultSets[0];
  if (!set) return [];
  return set.rows.map((r) => Object.fromEntries(set.columns.map((c, i) => [c.toUpperCase(), r[i]])));
}

function openDouble(options: TargetOptions): Target {
  const tmode = options.tmode ?? 'TERA';
  const w: TeradataWorkspace = teradataWorkspace({
    tmode,
    ...(options.perm !== undefined ? { perm: { DEV_EDW: options.perm } } : {}),
    ...(options.spool !== undefined ? { spool: options.spool } : {}),
    ...(options.splWarnings ? { splWarnings: options.splWarnings } : {}),
  });
  if (tmode === 'ANSI') ansiEnvironment(w);
  return {
    live: false,
    tmode,
    edw: 'DEV_EDW',
    ledger: 'DBEE_LEDGER',
    root: w.root,
    dbee: (command, opts = {}) => w.dbee(command as Parameters<TeradataWorkspace['dbee']>[0], opts),
    session: async () => w.session.newSession(),
    query: async (sql, params = []) => rowsOf(await w.session.newSession().run(sql, params)),
    exec: async (...requests) => {
      const s = w.session.newSession();
      for (const r of requests) await s.run(r);
    },
    exportScripts: (name, options = {}) =>
      exported(w.root, name, (n) => w.dbee('plan', { format: 'bteq', out: `dist/${n}`, ...options })),
    bteq: async (dir, file, opts = {}) => {
      const at = opts.disturb?.at;
      // A restart, on the double: the BTEQ session ends before the request (its open transaction rolled back), and
      // the script ends with it (exit -1): with RETRY OFF, BTEQ does not log on again to resubmit it.
      const result = await runBteq(readFileSync(join(dir, file), 'utf8'), w.session.newSession(), {
        ...(at ? { killWhen: (sql: string) => at.test(sql) } : {}),
        // `.OS sleep n` between the tries of a NOWAIT lock: n hundredths of a second here (a live BTEQ sleeps n s).
        onOs: (command: string) => new Promise<void>((r) => setTimeout(r, Number(/\d+/.exec(command)?.[0] ?? 0) * 10)),
      });
      return { exitCode: result.exitCode, output: result.output.join('\n') };
    },
    inject: (request, code, text) => {
      w.session.on(request, { error: { code, text } }, { times: 1 });
      return true;
    },
    close: async () => w.dispose(),
  };
}

async function exported(
  root: string,
  name: string,
  plan: (name: string) => ReturnType<typeof run>,
): Promise<{ dir: string; deploy: string; rollback: string }> {
  const r = await plan(name);
  if (r.code !== 0) throw new Error(`dbee plan --format bteq exited ${r.code}: ${r.stderr}`);
  const dir = join(root, 'dist', name);
  return {
    dir,
    deploy: readFileSync(join(dir, 'deploy.btq'), 'utf8'),
    rollback: readFileSync(join(dir, 'rollback.btq'), 'utf8'),
  };
}

async function openLive(url: LiveUrl, options: TargetOptions): Promise<Target> {
  const prefix = `DBEEL${Date.now().toString(36).toUpperCase()}`;
  const edw = `${prefix}_EDW`;
  const ledger = `${prefix}_LEDGER`;
  const tmode = options.tmode ?? url.tmode;
  const connect = () =>
    loadDriver('teradatasql').connect({
      host: url.host,
      user: url.user,
      password: url.password,
      tmode,
      ...(url.logmech ? { logmech: url.logmech } : {}),
    });
  // The suite's own session, logged on again when a restart (TERADATA_LIVE_RESTART) ended it: one retry per request.
  let session = await connect();
  const admin: TeradataSession = {
    run: async (sql, params) => {
      try {
        return await session.run(sql, params);
      } catch (e) {
        if (!/restart|session|socket|connection|closed/i.test(String(e))) throw e;
        await session.close().catch(() => undefined);
        session = await connect();
        return session.run(sql, params);
      }
    },
    setAutocommit: (on) => session.setAutocommit(on),
    commit: () => session.commit(),
    rollback: () => session.rollback(),
    close: () => session.close(),
  };
  await admin.run(`CREATE DATABASE ${edw} FROM ${url.user} AS PERM = ${options.perm ?? url.perm}`);
  await admin.run(`CREATE DATABASE ${ledger} FROM ${url.user} AS PERM = ${url.perm}`);
  // The 2646 scenario's BTEQ logs on as a user of little SPOOL, with every right on both databases.
  const low = options.spool === undefined ? null : { name: `${prefix}_LOW`, password: `Dbee${prefix.slice(-6)}x1` };
  if (low) {
    await admin.run(
      `CREATE USER ${low.name} FROM ${url.user} AS PERM = 0, SPOOL = ${options.spool}, PASSWORD = "${low.password}"`,
    );
    for (const db of [edw, ledger]) await admin.run(`GRANT ALL ON ${db} TO ${low.name}`);
  }
  const root = mkdtempSync(join(tmpdir(), 'dbee-td-live-'));
  cpSync(EXAMPLE, root, { recursive: true });
  writeFileSync(
    join(root, 'dbee.yaml'),
    `version: 1\ndefaultEnvironment: td-live\nenvironments:\n  td-live:\n    engine: teradata\n    connection:\n` +
      `      host: ${url.host}\n      user: ${url.user}\n      password: \${TERADATA_LIVE_PASSWORD}\n` +
      (url.logmech ? `      logmech: ${url.logmech}\n` : '') +
      `      tmode: ${tmode}\n      database: ${edw}\n      ledgerDatabase: ${ledger}\n    variables:\n      env: ${prefix}\n`,
  );
  const dbee: Target['dbee'] = (command, opts = {}) =>
    run(root, command, { project: 'edw', env: 'td-live', ...opts }, { TERADATA_LIVE_PASSWORD: url.password });
  return {
    live: true,
    tmode,
    edw,
    ledger,
    root,
    dbee,
    session: connect,
    query: async (sql, params = []) => rowsOf(await admin.run(sql, params)),
    exec: async (...requests) => {
      for (const r of requests) await admin.run(r);
    },
    exportScripts: async (name, options = {}) => {
      const out = await exported(root, name, (n) => dbee('plan', { format: 'bteq', out: `dist/${n}`, ...options }));
      const who = low ?? { name: url.user, password: url.password };
      // The logon file the scripts read (`.RUN FILE=logon.btq`), readable by its owner only.
      writeFileSync(join(out.dir, 'logon.btq'), `.LOGON ${url.host}/${who.name},${who.password};\n`, { mode: 0o600 });
      return out;
    },
    bteq: (dir, file, opts = {}) =>
      new Promise((done) => {
        const child = spawn(url.bteq, { cwd: dir });
        let output = '';
        let disturbed = false;
        const read = (chunk: Buffer) => {
          output += String(chunk);
          if (opts.disturb && !disturbed && opts.disturb.at.test(output)) {
            disturbed = true;
            void restart(admin, ledger);
          }
        };
        child.stdout.on('data', read);
        child.stderr.on('data', read);
        child.on('close', (code) => done({ exitCode: code ?? -1, output }));
        child.stdin.end(readFileSync(join(dir, file)));
      }),
    inject: () => false,
    close: async () => {
      for (const db of [edw, ledger]) await dropAll(admin, db);
      if (low) await admin.run(`DROP USER ${low.name}`).catch(() => undefined);
      for (const db of [edw, ledger]) await admin.run(`DROP DATABASE ${db}`).catch(() => undefined);
      await admin.close();
      // TERADATA_LIVE_KEEP=1 keeps the scripts and BTEQ's files to read after a failure (README: its logon file).
      if (process.env.TERADATA_LIVE_KEEP) process.stdout.write(`live suite: workspace kept in ${root}\n`);
      else rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * A restart in the middle of a step: TERADATA_LIVE_RESTART when set (a real restart of the database), else the BTEQ
 * session the lock row names is aborted from the suite's session (`SYSLIB.AbortSessions(HostId, UserName,
 * SessionNo, LogoffSessions, UserOverride)`: Database Administration, "AbortSessions"; verify the arguments), which
 * ends the session and rolls back its open transaction as a restart does, without restarting anything else.
 */
async function restart(admin: TeradataSession, ledger: string): Promise<void> {
  const command = process.env.TERADATA_LIVE_RESTART;
  if (command) {
    spawn('sh', ['-c', command], { stdio: 'inherit' });
    return;
  }
  const holder = await admin.run(`SELECT "owner_pid" FROM ${ledger}."lock" WHERE "lock_key" = 'deploy'`);
  const session = holder.resultSets[0]?.rows[0]?.[0];
  if (session !== undefined)
    await admin.run(`SELECT SYSLIB.AbortSessions(-1, '*', ${Number(session)}, 'Y', 'Y')`).catch((e) => {
      process.stderr.write(`live suite: could not abort BTEQ session ${session}: ${String(e)}\n`);
    });
}

async function dropAll(admin: TeradataSession, db: string): Promise<void> {
  const deps = await admin
    .run("SELECT TRIM(TableName), TableKind FROM DBC.TablesV WHERE DatabaseName = ? AND TableKind IN ('I', 'N', 'G')", [
      db,
    ])
    .catch(() => null);
  const word: Record<string, string> = { I: 'JOIN INDEX', N: 'HASH INDEX', G: 'TRIGGER' };
  for (const row of deps?.resultSets[0]?.rows ?? [])
    await admin.run(`DROP ${word[String(row[1]).trim()]} ${db}.${String(row[0])}`).catch(() => undefined);
  await admin.run(`DELETE DATABASE ${db} ALL`).catch(() => undefined);
}
