import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createTeradataEngine } from '@dbee/teradata';
import { fakeDriver, FakeTeradataSession, type FakeSessionOptions } from '../../packages/teradata/testing';
import { registerEngine } from '../../packages/cli/src/engines';
import { run } from '../support/run';

/** The example Teradata project (examples/teradata), deployed by these tests to a fake Teradata system. */
export const EXAMPLE = resolve(__dirname, '../../examples/teradata');

/** The environment of the test workspace: engine teradata, a fake host, the password from the environment. */
export const DBEE_YAML = `version: 1
defaultEnvironment: td-dev
environments:
  td-dev:
    engine: teradata
    connection:
      host: fake
      user: u
      password: \${TD_PASSWORD}
      database: DEV_EDW
    variables:
      env: DEV
`;

export interface TeradataWorkspace {
  root: string;
  /** The first session of the fake system: its catalog, rows and log are every session's. */
  session: FakeTeradataSession;
  /** Sessions the engine logged on (the lock's and the deployment's, per command). */
  driver: ReturnType<typeof fakeDriver>;
  /** Run a dbee command in-process against the fake system. */
  dbee(
    command: 'deploy' | 'status' | 'rollback' | 'plan' | 'diff' | 'extract' | 'unlock' | 'config' | 'detag',
    options?: Record<string, unknown>,
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Write a file of the project (relative to the workspace root). */
  write(path: string, text: string): void;
  /** Rows of a ledger table, ordered as the fake holds them. */
  ledger(table: string): Record<string, unknown>[];
  /** Requests sent since `mark` (an index into the log), without driver escapes. */
  requestsSince(mark: number): string[];
  /** A new package folder outside the workspace (the example project is its root: a folder in it is sources). */
  packageFolder(): string;
  dispose(): void;
}

/**
 * A temp workspace holding a copy of examples/teradata with a `td-dev` environment, and the Teradata engine registered
 * with a fake driver: every logon gets a new session of one fake system (databases DEV_EDW and DBEE_LEDGER).
 */
export function teradataWorkspace(options: FakeSessionOptions = {}): TeradataWorkspace {
  const root = mkdtempSync(join(tmpdir(), 'dbee-td-'));
  cpSync(EXAMPLE, root, { recursive: true });
  writeFileSync(join(root, 'dbee.yaml'), DBEE_YAML);
  const session = new FakeTeradataSession({
    databases: ['DEV_EDW', 'DBEE_LEDGER'],
    strictReferences: true,
    ...options,
  });
  const driver = fakeDriver(session, { sessionPerConnect: true });
  // The engine polls a held lock every 10 ms here rather than every second.
  const unregister = registerEngine('teradata', () =>
    createTeradataEngine({ loadDriver: () => driver, lockPollMs: 10 }),
  );
  const outside: string[] = [];
  return {
    root,
    session,
    driver,
    dbee: (command, opts = {}) =>
      run(root, command, { project: 'edw', env: 'td-dev', ...opts }, { TD_PASSWORD: 'td-test-secret' }),
    write: (path, text) => writeFileSync(join(root, path), text),
    ledger: (table) => session.rows(`DBEE_LEDGER.${table}`) ?? [],
    requestsSince: (mark) =>
      session.log
        .slice(mark)
        .map((l) => l.sql)
        .filter((s) => !s.startsWith('{fn')),
    packageFolder: () => {
      outside.push(mkdtempSync(join(tmpdir(), 'dbee-td-pkg-')));
      return join(outside[outside.length - 1]!, 'pkg');
    },
    dispose: () => {
      unregister();
      for (const dir of [root, ...outside]) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A workspace with td-dev (DEV_EDW, `env: DEV`) and td-prod (PROD_EDW, `env: PROD`) on one fake system: a package is
 * built with td-dev and promoted to td-prod. `prod` adds lines to td-prod's entry (its gates).
 */
export function devAndProd(prod = ''): TeradataWorkspace {
  const w = teradataWorkspace({ databases: ['DEV_EDW', 'PROD_EDW', 'DBEE_LEDGER'] });
  const connection = (db: string) =>
    `    engine: teradata\n    connection:\n      host: fake\n      user: u\n      password: \${TD_PASSWORD}\n      database: ${db}\n`;
  w.write(
    'dbee.yaml',
    `version: 1\ndefaultEnvironment: td-dev\nenvironments:\n  td-dev:\n${connection('DEV_EDW')}    variables:\n      env: DEV\n` +
      `  td-prod:\n${connection('PROD_EDW')}    variables:\n      env: PROD\n${prod}`,
  );
  return w;
}

/** The workspace's environment connects in ANSI mode (`tmode: ANSI`), as its fake system was made with. */
export function ansiEnvironment(w: TeradataWorkspace): void {
  w.write(
    'dbee.yaml',
    readFileSync(join(w.root, 'dbee.yaml'), 'utf8').replace(
      'database: DEV_EDW',
      'database: DEV_EDW\n      tmode: ANSI',
    ),
  );
}

/** `dbee plan --format bteq --out <out>` of the workspace: the deploy and rollback scripts' text. */
export async function exportScripts(w: TeradataWorkspace, out = 'out'): Promise<{ deploy: string; rollback: string }> {
  const r = await w.dbee('plan', { format: 'bteq', out });
  if (r.code !== 0) throw new Error(`dbee plan --format bteq exited ${r.code}: ${r.stderr}`);
  return {
    deploy: readFileSync(join(w.root, out, 'deploy.btq'), 'utf8'),
    rollback: readFileSync(join(w.root, out, 'rollback.btq'), 'utf8'),
  };
}
