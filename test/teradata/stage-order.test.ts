import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { splitStatements } from '@dbee/teradata';
import { runBteq } from '../../packages/teradata/testing';
import { ansiEnvironment, EXAMPLE, teradataWorkspace, type TeradataWorkspace } from './helpers';

// Issue #92, deliverable 1: the stage order of a step exists once (core's runner/step-stages.ts, `sendStep`), and the
// BTEQ export follows it. For each release the golden files hold (bteq-golden.test.ts), the release is deployed twice
// on the Teradata test double, by `dbee deploy` and by its deploy.btq, and each run's requests are read back as the
// stages of each step: `path` (DATABASE), `prepare` (reads before the step writes), `started` (its started row),
// `statements` (its own requests) and `applied` (its applied rows; a request in their transaction, as BTEQ sends a
// step's last DDL, goes with them). Each step's stages that both runs send come in the same order in both: a runner
// whose order changes without the script's (or the reverse) fails here, naming the step.

type Stage = 'path' | 'prepare' | 'started' | 'statements' | 'applied';

interface Request {
  sql: string;
  params: unknown[];
  /** The double's session that sent it. */
  session: number;
}

const opened: TeradataWorkspace[] = [];
afterEach(() => {
  for (const w of opened.splice(0)) w.dispose();
});

const LEDGER = /^\s*(?:INSERT\s+INTO|DELETE\s+FROM|UPDATE)\s+DBEE_LEDGER\."?(\w+)"?/i;
const READ = /^\s*(?:LOCKING\s+ROW\s+FOR\s+ACCESS\s+)?(?:SELECT|SEL|SHOW|HELP|EXPLAIN)\b/i;
const TRANSACTION = /^\s*(?:BT|ET|BEGIN\s+TRANSACTION|END\s+TRANSACTION|COMMIT|ROLLBACK)\s*;?\s*$/i;

/** A `steps` row's step order and whether it is a `started` row (runner: parameters; BTEQ: literals). */
function stepRow(r: Request): { order: number; started: boolean } {
  if (/^\s*DELETE\b/i.test(r.sql)) {
    // The applied row replaces the started one: `DELETE ... WHERE deployment_id, step_order, status = 'started'`.
    const order = r.params.length ? Number(r.params[1]) : Number(/"step_order" = (\d+)/.exec(r.sql)![1]);
    return { order, started: false };
  }
  if (r.params.length) return { order: Number(r.params[1]), started: r.params[11] === 'started' };
  const values = /VALUES \((\d+), (\d+),/.exec(r.sql)!;
  const status = [...r.sql.matchAll(/, '(started|applied|failed|skipped)', /g)].at(-1)?.[1];
  return { order: Number(values[2]), started: status === 'started' };
}

/** Whether `r` writes a step's row that is not its `started` row (`applied`), is its `started` row, or neither. */
function rowOf(r: Request): 'applied' | 'started' | null {
  if (LEDGER.exec(r.sql)?.[1]?.toLowerCase() !== 'steps' || !/^\s*INSERT\b/i.test(r.sql)) return null;
  return stepRow(r).started ? 'started' : 'applied';
}

/**
 * The requests of the session that wrote the steps' rows, cut into what commits together: a transaction (opened by BT
 * or, with auto-commit off, by the first request after a commit; ended by a commit or a rollback), else one request.
 * `autocommit`: the session starts with it on (the driver's sessions, in both modes; BTEQ's in Teradata mode).
 */
function transactions(log: readonly Request[], autocommit: boolean): Request[][] {
  const session = log.find((r) => rowOf(r))?.session;
  const units: Request[][] = [];
  let auto = autocommit;
  let open: Request[] | null = null;
  for (const r of log.filter((e) => e.session === session)) {
    if (r.sql === '{fn teradata_autocommit_off}') auto = false;
    else if (r.sql === '{fn teradata_autocommit_on}') auto = true;
    if (/^\{fn teradata_(commit|rollback|autocommit_on)\}$/.test(r.sql) || /^\s*(COMMIT|ROLLBACK)\b/i.test(r.sql)) {
      if (open?.length) units.push(open);
      open = null;
    } else if (r.sql.startsWith('{fn') || TRANSACTION.test(r.sql)) continue;
    else if (auto) units.push([r]);
    else (open ??= []).push(r);
  }
  if (open?.length) units.push(open);
  return units;
}

/**
 * The stages each step's requests belong to, in the order sent, repeats folded. A transaction that writes a step's row
 * is that row's stage whole (BTEQ sends a step's last DDL in its applied rows' transaction). Otherwise a read or a
 * DATABASE belongs to the step whose row comes next, and a step's own request to the step whose row came last. The
 * deployment's own ledger requests (its row, the lock, the version) are no step's.
 */
function stagesOf(log: readonly Request[], autocommit: boolean): Map<number, Stage[]> {
  const out = new Map<number, Stage[]>();
  const add = (order: number, stage: Stage) => {
    const list = out.get(order) ?? out.set(order, []).get(order)!;
    if (list.at(-1) !== stage) list.push(stage);
  };
  let pending: Stage[] = [];
  let current: number | null = null;
  for (const unit of transactions(log, autocommit)) {
    const row = unit.find((r) => rowOf(r));
    if (row) {
      current = stepRow(row).order;
      for (const stage of pending) add(current, stage);
      pending = [];
      add(current, rowOf(row)!);
      continue;
    }
    for (const r of unit) {
      const ledger = LEDGER.exec(r.sql)?.[1]?.toLowerCase();
      if (ledger === 'objects' || ledger === 'migrations') {
        if (current !== null) add(current, 'applied');
      } else if (ledger === 'lock') {
        // The script's heartbeat goes before each step (the runner's refreshes its lock on a session of its own).
        current = null;
        pending = [];
      } else if (ledger) continue;
      // Reads before a DATABASE are the deployment's or the step before's (its checks after its rows).
      else if (/^\s*DATABASE\b/i.test(r.sql)) pending = ['path'];
      else if (READ.test(r.sql)) pending.push('prepare');
      else if (current !== null) add(current, 'statements');
      else pending.push('statements');
    }
  }
  return out;
}

/** The stages of `a` that `b` sends too, in `a`'s order. */
function shared(a: readonly Stage[], b: readonly Stage[]): Stage[] {
  const common = a.filter((s) => b.includes(s));
  return common.filter((s, i) => common[i - 1] !== s);
}

/**
 * The steps whose script still has an order of its own, by release: an object the ledger does not know stands at the
 * step's name (`ifExists: rename`). The script moves it aside in the step's run-time checks, before any row of the
 * step (a table is built aside and swapped by `buildAside`, which writes the step's rows with its second rename, and
 * no `started` row); the runner moves it in the step's statements, after its `started` row. The list only shrinks:
 * a step listed here that follows the runner's order fails the test until it is taken off.
 */
const DIVERGES: Readonly<Record<string, readonly number[]>> = {
  'example-over-hand-made': [1, 2, 4, 6, 7],
};

interface Release {
  name: string;
  ansi?: boolean;
  /** A fresh target with what stands before the release. */
  target(): Promise<TeradataWorkspace>;
  /** Options of the export and of the deploy (hazards the release needs allowed). */
  options?: Record<string, unknown>;
}

function workspace(options: Parameters<typeof teradataWorkspace>[0] = {}): TeradataWorkspace {
  const w = teradataWorkspace(options);
  opened.push(w);
  return w;
}

function edit(w: TeradataWorkspace, file: string, change: (text: string) => string): void {
  w.write(file, change(readFileSync(join(w.root, file), 'utf8')));
}

/** The golden files' releases (bteq-golden.test.ts), each on a target of its own. */
const RELEASES: Release[] = [
  { name: 'example-tera', target: async () => workspace() },
  {
    name: 'example-ansi',
    ansi: true,
    target: async () => {
      const w = workspace({ tmode: 'ANSI' });
      ansiEnvironment(w);
      return w;
    },
  },
  {
    name: 'example-over-hand-made',
    target: async () => {
      const w = workspace();
      const dba = w.session.newSession();
      for (const folder of ['tables', 'join_indexes', 'views', 'macros', 'procedures'])
        for (const file of readdirSync(join(EXAMPLE, 'schema/edw', folder)).sort()) {
          const text = readFileSync(join(EXAMPLE, 'schema/edw', folder, file), 'utf8').replace(/\{\{env\}\}/g, 'DEV');
          for (const st of splitStatements(text, file)) await dba.run(st.sql);
        }
      return w;
    },
  },
  {
    name: 'example-alter',
    options: { allowHazards: ['table-rewrite', 'backward-incompatible', 'data-loss'] },
    target: async () => {
      const w = workspace();
      expect((await w.dbee('deploy', { assumeYes: true })).code).toBe(0);
      edit(w, 'schema/edw/tables/orders.sql', (t) =>
        t
          .replace('status       CHAR(1) NOT NULL,', "status       CHAR(1) NOT NULL COMPRESS ('O', 'C'),")
          .replace(
            'note         VARCHAR(500) CHARACTER SET UNICODE',
            "note         VARCHAR(2000) CHARACTER SET UNICODE,\n  channel      VARCHAR(10) DEFAULT 'web'",
          ),
      );
      edit(w, 'schema/edw/tables/customers.sql', (t) =>
        t.replace('created_at    TIMESTAMP(0)', 'created_ts    TIMESTAMP(0)'),
      );
      edit(
        w,
        'db.yaml',
        (t) =>
          `${t}renames:\n  - { kind: column, schema: '{{env}}_EDW', table: customers, from: created_at, to: created_ts }\n`,
      );
      return w;
    },
  },
];

/** The requests `fn` sends on `w`'s system (the driver's escapes left out). */
async function sent(w: TeradataWorkspace, fn: () => Promise<number>): Promise<Request[]> {
  const mark = w.session.log.length;
  expect(await fn()).toBe(0);
  return w.session.log.slice(mark);
}

describe("a step's stages: the BTEQ script in the runner's order (#92)", () => {
  it.each(RELEASES)('$name: each step, by dbee deploy and by deploy.btq', async (release) => {
    const byScript = await release.target();
    const out = 'out';
    const r = await byScript.dbee('plan', { format: 'bteq', out, ...release.options });
    expect(r.code, r.stderr).toBe(0);
    const script = readFileSync(join(byScript.root, out, 'deploy.btq'), 'utf8');
    const bteq = stagesOf(
      await sent(byScript, async () => (await runBteq(script, byScript.session.newSession())).exitCode),
      !release.ansi,
    );
    const byRunner = await release.target();
    const runner = stagesOf(
      await sent(byRunner, async () => (await byRunner.dbee('deploy', { assumeYes: true, ...release.options })).code),
      true,
    );
    expect([...bteq.keys()].sort(), 'the steps each run recorded').toEqual([...runner.keys()].sort());
    expect(runner.size).toBeGreaterThan(0);
    const diverging: number[] = [];
    for (const [order, stages] of runner) {
      // Every step of the runner writes its rows after its statements: the comparison has something to compare.
      expect(stages.indexOf('applied'), `step ${order}: ${stages}`).toBeGreaterThan(stages.indexOf('statements'));
      const other = bteq.get(order)!;
      if (DIVERGES[release.name]?.includes(order)) {
        if (shared(other, stages).join() !== shared(stages, other).join()) diverging.push(order);
        continue;
      }
      expect(shared(other, stages), `step ${order}: deploy.btq ${other} against dbee deploy ${stages}`).toEqual(
        shared(stages, other),
      );
    }
    // A step listed apart that follows the runner's order now is taken off the list.
    expect(diverging, 'the steps listed in DIVERGES that still diverge').toEqual(DIVERGES[release.name] ?? []);
  });
});
