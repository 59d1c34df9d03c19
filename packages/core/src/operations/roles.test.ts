import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { tempWorkspace, WORKSPACE_YAML } from '../../../../test/support/workspace';
import { Workspace } from '../config/workspace';
import { DbeeError } from '../errors';
import { clone } from './clone';
import { STRATEGIES } from './strategies';
import { inFlightReader } from './strategies/in-flight';
import { makeReporter, type OperationContext } from '../context/operation-context';
import { requireRole, type Engine } from '../engine/engine';

let cleanup: (() => void)[] = [];
afterEach(() => {
  cleanup.forEach((f) => f());
  cleanup = [];
});

/** Only the required engine: no role at all. Nothing may connect: the refusal comes before any session. */
function bareEngine(): Engine {
  const never = (): never => {
    throw new Error('a refused operation must not reach the database');
  };
  return {
    name: 'fakedb',
    capabilities: {
      transactionalDdl: true,
    },
    parser: { parse: async () => [] },
    ledger: { schema: 'dbee', migrations: [], param: (n) => `$${n}`, now: 'now()' },
    session: { setup: () => [], reset: () => [], searchPath: () => null },
    connect: async () => never(),
    lock: async () => never(),
    mapError: (e) => (e instanceof Error ? e : new Error(String(e))),
  };
}

async function refusal(run: () => Promise<unknown>): Promise<DbeeError> {
  try {
    await run();
  } catch (e) {
    if (e instanceof DbeeError) return e;
    throw e;
  }
  throw new Error('expected a DbeeError');
}

describe('engine roles', () => {
  it('an operation that needs the diff role refuses an engine without it, naming the engine and what it cannot do', async () => {
    const w = tempWorkspace({
      'dbee.yaml': WORKSPACE_YAML,
      'db/app/db.yaml': 'version: 1\nname: app\nengine: postgres\nschemas: [app]\n',
    });
    cleanup.push(w.remove);
    const out = new PassThrough();
    const engine = bareEngine();
    const ctx: OperationContext = {
      workspace: Workspace.load(w.root),
      stdout: out,
      stderr: out,
      env: { DBEE_TEST_PG_URL: 'postgres://nobody@127.0.0.1:1/none' },
      interactive: false,
      fromNx: false,
      engine: () => engine,
      reporter: makeReporter(out, out),
      toolVersion: 'test',
    };
    const e = await refusal(() =>
      clone(
        ctx,
        { project: 'app', from: 'server', to: 'local', dryRun: false, assumeYes: false },
        { inFlight: inFlightReader(STRATEGIES) },
      ),
    );
    expect(e.code).toBe('ENGINE_CAPABILITY');
    expect(e.message).toBe(
      'the fakedb engine cannot compare two live databases (it has no shadow database to diff in)',
    );
    expect(e.details).toEqual({ engine: 'fakedb', role: 'diff' });
  });

  it('requireRole hands back the role itself when the engine has it', () => {
    const audit = { enable: async () => {}, disable: async () => {}, periods: async () => [], events: async () => [] };
    const engine: Engine = { ...bareEngine(), audit };
    expect(requireRole(engine, 'audit', 'record who changed what')).toBe(audit);
    expect(() => requireRole(bareEngine(), 'audit', 'record who changed what')).toThrow(
      'the fakedb engine cannot record who changed what (it has no audit trail)',
    );
  });
});
