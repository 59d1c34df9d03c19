import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openPostgres } from '@dbee/postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { dbYaml, snapshot, workspaceWith, workspaceYaml, type TestWorkspace } from '../runner/helpers';
import { scratchDatabase } from '../support/pg';
import { run } from '../support/run';
import {
  CAPABILITIES,
  CELLS,
  exampleFiles,
  judgeCell as judge,
  LAB_SQL,
  PUB_SQL,
  pendingCells,
  RUNS,
  SEED,
  SHAPES,
  type Run,
} from './verdict-matrix';
import { ADVISE_CELLS, ADVISE_RUNS, ADVISE_SETUP, ADVISE_TEARDOWN } from './verdict-advise';
import { BLUE_GREEN_CELLS } from './verdict-blue-green';
import { CLONE_CELLS, CLONE_CHECK_RUNS, CLONE_DRIFT, CLONE_RUNS } from './verdict-clone';
import { EXPAND_CELLS, EXPAND_RUNS } from './verdict-expand';
import { PREVIEW_CELLS, PREVIEW_RUNS } from './verdict-preview';
import { ROLLBACK_OBJECTS_CELLS, ROLLBACK_OBJECTS_RUNS, type PhaseRun } from './verdict-rollback-objects';
import {
  KEPT_RELATIONS,
  NOT_CONVERGED,
  ROLLBACK_BROKEN_RUNS,
  ROLLBACK_CELLS,
  ROLLBACK_CLEANUP_RUNS,
  ROLLBACK_RUNS,
} from './verdict-rollback';

/**
 * The verdict matrix (verdict-matrix.ts; docs/verdicts.md): one workspace with every shape, deployed and seeded once
 * on the server; each run writes its release, runs its command and takes the release out again; each cell asserts its
 * exit code and what its verdict names. First the runs that change nothing (`RUNS`, `EXPAND_RUNS`: dry runs, a
 * package's plan, check: the target's snapshot is the same after them), then the phases that change the target or the
 * copy (rollback --objects and rollback, clone, preview), each checked whole after its runs. The pending cells are
 * printed with their reasons.
 */

let w: TestWorkspace | undefined;
let copy: Awaited<ReturnType<typeof scratchDatabase>> | undefined;
afterAll(async () => {
  await w?.remove();
  await copy?.drop();
});
/** The second environment, `copy` (clone's target): an empty database on the same server. */
const COPY_ENV = '  copy:\n    engine: postgres\n    connection:\n      url: ${DBEE_COPY_URL}\n';

describe('the verdict matrix', () => {
  it('every covered cell gives its verdict (exit code, the broken thing named); the pending cells are listed', async () => {
    // A cell names its run: the names of every phase are unique.
    const names = [
      RUNS,
      EXPAND_RUNS,
      ROLLBACK_OBJECTS_RUNS,
      ROLLBACK_RUNS,
      ROLLBACK_BROKEN_RUNS,
      ROLLBACK_CLEANUP_RUNS,
      CLONE_RUNS,
      CLONE_CHECK_RUNS,
      PREVIEW_RUNS,
      ADVISE_RUNS,
    ].flatMap(Object.keys);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    const examples = exampleFiles();
    // What a release's files replace (the examples, lab's and pub's sources) is written back after its run.
    const projects = {
      'lab/db.yaml': dbYaml('lab'),
      'lab/lab.sql': LAB_SQL,
      'pub/db.yaml': 'version: 1\nname: pub\nengine: postgres\nschemas: [public]\n',
      'pub/notes.sql': PUB_SQL,
    };
    const originals: Record<string, string> = { ...examples, ...projects };
    w = await workspaceWith('postgres', {
      'dbee.yaml': workspaceYaml('postgres', {
        top: 'shadow: server',
        environment: 'verify:\n  rollback: true\n  sampleRows: 200',
      })
        .trimEnd()
        .concat('\n', COPY_ENV),
      ...originals,
    });
    copy = await scratchDatabase('dbee_copy');
    const ws = { ...w, target: { ...w.target, vars: { ...w.target.vars, DBEE_COPY_URL: copy.url } } };
    const t0 = Date.now();
    for (const project of ['sales', 'lab', 'pub']) {
      const r = await run(ws.root, 'deploy', { project }, ws.target.vars);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    const c = await ws.target.connect();
    try {
      await c.execute(SEED);
    } finally {
      await c.close();
    }
    // A smoke check that reads a table no release of lab touches: the copy holds none of its rows.
    ws.write(
      'lab/smoke/lab.yaml',
      'checks:\n  - name: kinds there\n    query: SELECT count(*) > 0 AS ok FROM lab.kinds\n    rows: [{ ok: true }]\n',
    );
    const before = await snapshot(ws.target);
    const schemasBefore = (await snapshot(ws.target, { withLedger: false })).catalog;
    const setup = Date.now() - t0;

    // Each run once, its release taken out after; then every cell judged on its run's output.
    const outputs = new Map<string, Output>();
    const only = process.env.VERDICTS_ONLY ? new RegExp(process.env.VERDICTS_ONLY) : null;
    const failures = await runAll(ws, { ...RUNS, ...EXPAND_RUNS }, originals, outputs, only);
    // Every run was a dry run or a package's plan: the target is as it was.
    expect((await snapshot(ws.target)).hash).toBe(before.hash);
    // Then the phases that change the target (and the copy), each checked whole after its runs.
    const phase = Date.now();
    failures.push(...(await rollbackPhase(ws, originals, outputs, only, schemasBefore)));
    const rollbackMs = Date.now() - phase;
    failures.push(...(await clonePhase(ws, copy, originals, outputs, only)));
    failures.push(...(await runAll(ws, PREVIEW_RUNS, originals, outputs, only)));
    failures.push(...(await advisePhase(ws, originals, outputs, only)));
    const cells = [
      ...CELLS,
      ...EXPAND_CELLS,
      ...ROLLBACK_OBJECTS_CELLS,
      ...ROLLBACK_CELLS,
      ...CLONE_CELLS,
      ...PREVIEW_CELLS,
      ...ADVISE_CELLS,
    ];
    for (const cell of cells) if (!only || outputs.has(cell.run)) failures.push(...judge(cell, outputs.get(cell.run)));
    // The blue/green cells are judged by verdicts-blue-green.test.ts, on a cluster of their own: covered here.
    const pending = pendingCells([...cells, ...BLUE_GREEN_CELLS]);
    console.info(
      [
        `verdict matrix: ${cells.length} cells held by ${outputs.size} runs (setup ${setup} ms, runs ${[...outputs.values()].reduce((n, o) => n + o.ms, 0)} ms, of which the phase of real deploys and rollbacks ${rollbackMs} ms: rollback --objects ${msOf(outputs, ROLLBACK_OBJECTS_RUNS)} ms, rollback ${msOf(outputs, ROLLBACK_RUNS, ROLLBACK_BROKEN_RUNS, ROLLBACK_CLEANUP_RUNS)} ms), ${BLUE_GREEN_CELLS.length} by verdicts-blue-green.test.ts, ${pending.length} cells pending of ${Object.keys(SHAPES).length} shapes × ${CAPABILITIES.length} capabilities × 2 releases:`,
        // One line per capability and reason: the cells it leaves pending.
        ...[...groupBy(pending, (p) => `${p.capability}: ${p.pending}`)].map(
          ([why, cells]) =>
            `  pending: ${why} (${cells.length} cell${cells.length === 1 ? '' : 's'}: ${cells.map((c) => `${c.shape} × ${c.release}`).join('; ')})`,
        ),
      ].join('\n'),
    );
    expect(failures).toEqual([]);
    expect(pending.filter((p) => p.pending === 'no reason given')).toEqual([]);
    // VERDICTS_ONLY=<regex> (a run's name) runs those runs alone, to work on a column: never a green.
    expect(only, 'VERDICTS_ONLY is set: the cells of the other runs were not judged').toBeNull();
  });
});

type Output = { code: number; out: string; ms: number };

/**
 * Each run of `runs` in order (those `only` matches, when given): its release written, its command run, its release
 * taken out again (the files of `originals` written back). A setup run that fails is returned as a failure.
 */
async function runAll(
  ws: TestWorkspace,
  runs: Record<string, Run | PhaseRun>,
  originals: Record<string, string>,
  outputs: Map<string, Output>,
  only: RegExp | null,
): Promise<string[]> {
  const failures: string[] = [];
  // A phase's setup runs run when one of its other runs does.
  const phase = !only || Object.entries(runs).some(([name, spec]) => !('setup' in spec) && only.test(name));
  for (const [name, spec] of Object.entries(runs)) {
    if (only && !(phase && 'setup' in spec) && !only.test(name)) continue;
    const started = Date.now();
    for (const [rel, text] of Object.entries(spec.files)) ws.write(rel, text);
    try {
      const r = await run(ws.root, spec.command, spec.options, ws.target.vars);
      outputs.set(name, { code: r.code, out: r.stdout + r.stderr, ms: Date.now() - started });
      if ('setup' in spec && r.code !== 0) failures.push(`${name}: exit ${r.code}\n${r.stdout}${r.stderr}`);
    } finally {
      for (const rel of Object.keys(spec.files))
        if (originals[rel] !== undefined) ws.write(rel, originals[rel]);
        else if (existsSync(join(ws.root, rel))) rmSync(join(ws.root, rel));
    }
  }
  return failures;
}

/**
 * The phase of real deploys and rollbacks. `rollback --objects` (verdict-rollback-objects.ts), then a plain `rollback`
 * of correct releases (verdict-rollback.ts): after each, the target's schemas are as they were before. Then the broken
 * releases' rollbacks: each recorded failed with the migrations it undid, the schemas as before but for the columns
 * `kept` their rollback scripts left; then dropped by a migration, the schemas as before again.
 */
async function rollbackPhase(
  ws: TestWorkspace,
  originals: Record<string, string>,
  outputs: Map<string, Output>,
  only: RegExp | null,
  schemasBefore: string[],
): Promise<string[]> {
  const schemas = async () => (await snapshot(ws.target, { withLedger: false })).catalog;
  const failures = await runAll(ws, ROLLBACK_OBJECTS_RUNS, originals, outputs, only);
  failures.push(...differs('the target after rollback --objects', await schemas(), schemasBefore));
  failures.push(...(await runAll(ws, ROLLBACK_RUNS, originals, outputs, only)));
  failures.push(...differs('the target after the correct releases rolled back', await schemas(), schemasBefore));
  const [ledger] = await ws.target.query<{ last: string }>('SELECT max(id)::text AS last FROM dbee.deployments');
  failures.push(...(await runAll(ws, ROLLBACK_BROKEN_RUNS, originals, outputs, only)));
  const broken = Object.keys(ROLLBACK_BROKEN_RUNS).some((name) => outputs.has(name));
  if (Object.keys(ROLLBACK_BROKEN_RUNS).every((name) => outputs.has(name))) {
    // What the broken rollbacks left: the columns `kept` and nothing else, and each rollback recorded failed.
    const left = await schemas();
    const kept = left.filter((e) => e.endsWith(', kept integer')).map((e) => e.replace(/^relation (\S+):.*/, '$1'));
    if (kept.sort().join() !== [...KEPT_RELATIONS].sort().join())
      failures.push(`the columns kept after the broken rollbacks: ${kept.join(', ')}`);
    const aside = left.map((e) => e.replace(/, kept integer$/, ''));
    failures.push(...differs('the target after the broken rollbacks, the columns kept aside', aside, schemasBefore));
    const rows = await ws.target.query<{ project: string; status: string; not_converged: string[] | null }>(
      "SELECT project, status, summary->'notConverged' AS not_converged FROM dbee.deployments WHERE kind = 'rollback' AND id > $1 ORDER BY id",
      [ledger?.last],
    );
    const rollbacks = rows.map((r) => ({ ...r, not_converged: r.not_converged && [...r.not_converged].sort() }));
    const expected = NOT_CONVERGED.map(({ project, undone }) => ({
      project,
      status: 'failed',
      not_converged: [...undone].sort(),
    }));
    if (JSON.stringify(rollbacks) !== JSON.stringify(expected))
      failures.push(
        `the broken rollbacks' ledger rows: ${JSON.stringify(rollbacks)}, expected ${JSON.stringify(expected)}`,
      );
  }
  // The cleanup runs whenever a broken release ran (VERDICTS_ONLY too): the later phases need the target as it was.
  if (broken) failures.push(...(await runAll(ws, ROLLBACK_CLEANUP_RUNS, originals, outputs, null)));
  failures.push(...differs('the target after the columns kept were dropped', await schemas(), schemasBefore));
  return failures;
}

/**
 * `clone` (verdict-clone.ts): each project into the empty copy, whose schemas then equal the target's; the copy given
 * a column more on every table by hand; each project cloned again as a dry run.
 */
async function clonePhase(
  ws: TestWorkspace,
  copy: { url: string; name: string },
  originals: Record<string, string>,
  outputs: Map<string, Output>,
  only: RegExp | null,
): Promise<string[]> {
  const failures = await runAll(ws, CLONE_RUNS, originals, outputs, only);
  if (Object.keys(CLONE_RUNS).some((name) => !outputs.has(name))) return failures; // VERDICTS_ONLY left them out
  const connect = () =>
    openPostgres({ kind: 'server', config: { connectionString: copy.url }, description: copy.name });
  const target = (await snapshot(ws.target, { withLedger: false })).catalog;
  const copied = (await snapshot({ ...ws.target, connect }, { withLedger: false })).catalog;
  failures.push(...differs('the copy after the clones', copied, target));
  const c = await connect();
  try {
    await c.execute(CLONE_DRIFT);
  } finally {
    await c.close();
  }
  return [...failures, ...(await runAll(ws, CLONE_CHECK_RUNS, originals, outputs, only))];
}

/**
 * `advise` (verdict-advise.ts), on the target itself: rows and HypoPG (in a schema of its own) added, its runs, the
 * target then as it was before them (advise applies nothing), the rows and the extension taken away again.
 */
async function advisePhase(
  ws: TestWorkspace,
  originals: Record<string, string>,
  outputs: Map<string, Output>,
  only: RegExp | null,
): Promise<string[]> {
  if (only && !Object.keys(ADVISE_RUNS).some((name) => only.test(name))) return [];
  const sql = async (text: string) => {
    const c = await ws.target.connect();
    try {
      await c.execute(text);
    } finally {
      await c.close();
    }
  };
  await sql(ADVISE_SETUP);
  try {
    const before = await snapshot(ws.target);
    const failures = await runAll(ws, ADVISE_RUNS, originals, outputs, only);
    if ((await snapshot(ws.target)).hash !== before.hash) failures.push('advise changed the target');
    return failures;
  } finally {
    await sql(ADVISE_TEARDOWN);
  }
}

/** How a catalog differs from the one expected (the entries each has that the other lacks), as failures. */
function differs(what: string, got: string[], expected: string[]): string[] {
  if (process.env.VERDICTS_ONLY) return [];
  const extra = got.filter((e) => !expected.includes(e));
  const missing = expected.filter((e) => !got.includes(e));
  return extra.length || missing.length
    ? [`${what}: not the schemas expected:\n+ ${extra.join('\n+ ')}\n- ${missing.join('\n- ')}`]
    : [];
}

/** The time the runs of `phases` took, in ms. */
function msOf(outputs: Map<string, Output>, ...phases: Record<string, unknown>[]): number {
  return phases.flatMap(Object.keys).reduce((n, name) => n + (outputs.get(name)?.ms ?? 0), 0);
}

/** Items grouped by a key, in the order each key first comes. */
function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) out.set(key(item), [...(out.get(key(item)) ?? []), item]);
  return out;
}
