import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { splitStatements } from '@dbee/teradata';
import { runBteq } from '../../packages/teradata/testing';
import { ansiEnvironment, EXAMPLE, teradataWorkspace, type TeradataWorkspace } from './helpers';

// Issue #92, deliverable 1: the stage order of a step exists once (core's runner/step-stages.ts, `sendStep`), and the
// BTEQ export follows it. For each release the golden files hold (bteq-golden.test.ts), the release is deployed twice
// on the Teradata test double, by `dbee deploy` and by its deploy.btq (and, for the first releases, rolled back by
// `dbee rollback` and by its rollback.btq), and each run's requests are read back as the stages of each step: `path`
// (DATABASE), `prepare` (reads before the step's statements), `started` (its started row), `statements` (its own
// requests) and `applied` (its applied row; a request in that row's transaction, as BTEQ sends a step's last DDL, goes
// with it). Each step's stages that both runs send come in the same order in both: a runner whose order changes
// without the script's (or the reverse) fails here, naming the step. (Tried: the runner sending a step's statements
// before its started row, and an undo's rows before its statements: both fail, at step 1.)

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

/** A `steps` row's step order, its object and whether it is a `started` row (runner: parameters; BTEQ: literals). */
function stepRow(r: Request): { order: number; key: string; started: boolean } {
  if (r.params.length)
    return { order: Number(r.params[1]), key: String(r.params[2]), started: r.params[11] === 'started' };
  const values = /VALUES \((\d+), (\d+), '([^']*)'/.exec(r.sql)!;
  const status = [...r.sql.matchAll(/, '(started|applied|failed|skipped)', /g)].at(-1)?.[1];
  return { order: Number(values[2]), key: values[3]!, started: status === 'started' };
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

interface Event {
  stage: Stage;
  /** A step's row: its order and its object's name. */
  row?: { order: number; name: string };
  /** A statement of a step's own (not a read, not the ledger's). */
  sql?: string;
}

/**
 * The requests as events: a transaction that writes a step's row is that row's stage whole (BTEQ sends a step's last
 * DDL in its applied rows' transaction); the deployment's own ledger requests (its row, the lock) are none.
 */
function eventsOf(log: readonly Request[], autocommit: boolean): Event[] {
  const events: Event[] = [];
  for (const unit of transactions(log, autocommit)) {
    const row = unit.find((r) => rowOf(r));
    if (row) {
      const { order, key } = stepRow(row);
      events.push({ stage: rowOf(row)!, row: { order, name: key.slice(key.lastIndexOf('.') + 1).toUpperCase() } });
      continue;
    }
    for (const r of unit) {
      if (/^\s*DATABASE\b/i.test(r.sql)) events.push({ stage: 'path' });
      else if (READ.test(r.sql)) events.push({ stage: 'prepare' });
      // The ledger's own tables and the session's settings are the deployment's, no step's.
      else if (!/DBEE_LEDGER\.|^\s*SET\s/i.test(r.sql)) events.push({ stage: 'statements', sql: r.sql });
    }
  }
  return events;
}

/**
 * The stages each step's requests belong to, in the order sent, repeats folded. A statement belongs to the nearest
 * step row whose object it names (else to the next row); a read or a DATABASE to the next row, and is dropped when a
 * DATABASE comes between (it was the deployment's, or the step before's); a read once the step's statements have begun
 * is a check among them (a script's, at run time).
 */
function stagesOf(log: readonly Request[], autocommit: boolean): Map<number, Stage[]> {
  const events = eventsOf(log, autocommit);
  const rows = events.flatMap((e, i) => (e.row ? [i] : []));
  const next = (i: number) => rows.find((j) => j > i);
  const owner = (e: Event, i: number): number | undefined => {
    if (e.row) return i;
    if (e.sql) {
      const sql = e.sql.toUpperCase();
      const word = (name: string) => new RegExp(`\\b${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`);
      const named = rows.filter((j) => word(events[j]!.row!.name).test(sql));
      if (named.length) return named.reduce((a, b) => (Math.abs(b - i) <= Math.abs(a - i) ? b : a));
      return next(i) ?? rows.filter((j) => j < i).at(-1);
    }
    const j = next(i);
    if (j === undefined || events.slice(i + 1, j).some((x) => x.stage === 'path')) return undefined;
    return j;
  };
  const byStep = new Map<number, { i: number; stage: Stage }[]>();
  events.forEach((e, i) => {
    const j = owner(e, i);
    if (j === undefined) return;
    const order = events[j]!.row!.order;
    const list = byStep.get(order) ?? byStep.set(order, []).get(order)!;
    list.push({ i, stage: e.stage });
  });
  const out = new Map<number, Stage[]>();
  for (const [order, list] of byStep) {
    const stages: Stage[] = [];
    for (const { stage } of list.sort((a, b) => a.i - b.i)) {
      const s = stage === 'prepare' && stages.includes('statements') ? 'statements' : stage;
      if (stages.at(-1) !== s) stages.push(s);
    }
    out.set(order, stages);
  }
  return out;
}

/** The stages of `a` that `b` sends too, in `a`'s order. */
function shared(a: readonly Stage[], b: readonly Stage[]): Stage[] {
  const common = a.filter((s) => b.includes(s));
  return common.filter((s, i) => common[i - 1] !== s);
}

/**
 * The steps whose script still has an order of its own, by release: a procedure the ledger does not know stands at the
 * step's name (`ifExists: rename`). The script renames it aside in the step's run-time checks, before the step's
 * `started` row; the runner in the step's statements, after it. (A table built aside and swapped, and a view or macro
 * renamed aside, keep the runner's order: their scripts write no `started` row, the backup's row records the move.)
 * The list only shrinks: a step listed here that follows the runner's order fails the test until it is taken off.
 */
const DIVERGES: Readonly<Record<string, readonly number[]>> = {
  'example-over-hand-made': [6],
};

/**
 * The releases whose deploy.btq still leaves other rows in the ledger than dbee deploy: objects the ledger does not
 * know stand at the steps' names (`ifExists: rename` / `drop`). dbee deploy records the conflict's requests with the
 * step (the rename aside, the dependents dropped and made again, a dropped object's captured definition in the reverse)
 * and names its backups `_BKP_`; the script records the step's own requests, its backups `_BAK_`, and cannot capture
 * an unknown object's definition when it is written. The list only shrinks: a release listed here whose rows agree
 * fails the test until it is taken off.
 */
const LEDGER_DIVERGES: Readonly<Record<string, true>> = { 'example-over-hand-made': true };

/**
 * The releases whose deploy.btq records another `steps_total` in its deployment's row than dbee deploy: the script is
 * written for a target whose state it cannot read, with a step for each object of the sources that a table changed in
 * place stands under (example-alter: 9), and skips at run time the steps whose object the ledger holds at their
 * checksum (5); dbee deploy plans the steps that differ (4). The list only shrinks, as `LEDGER_DIVERGES`.
 */
const STEPS_TOTAL_DIVERGES: Readonly<Record<string, true>> = { 'example-alter': true };

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
  it.each(RELEASES)('$name: each step, by dbee deploy and by deploy.btq: its stages, and its rows', async (release) => {
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
    // And both leave the same rows in the ledger, but where the script still records a step its own way (listed).
    const rows = deployedLedger(byRunner);
    expect((rows.steps as unknown[]).length).toBeGreaterThan(0);
    const left = deployedLedger(byScript);
    // The deployment's own row: opened and closed by dbee deploy's code (`Deployment`), over the script's recorder.
    const total = (d: unknown) => (d as { stepsTotal: number }).stepsTotal;
    if (STEPS_TOTAL_DIVERGES[release.name]) {
      expect(total(left.deployment), 'steps_total').not.toBe(total(rows.deployment));
      left.deployment = { ...(left.deployment as object), stepsTotal: total(rows.deployment) };
    }
    if (LEDGER_DIVERGES[release.name]) {
      expect(left.deployment, "the deployment's row").toEqual(rows.deployment);
      expect(left).not.toEqual(rows);
    } else expect(left).toEqual(rows);
  });
});

/**
 * What the ledger holds of a rollback once it ran, read by column (ids and times aside, the deployments' ids in the
 * hazards' texts masked): its own row (`deploymentRow`), each undo step's row, the rows of the deployment's steps it undid, the objects' states and
 * which backups are closed. `dbee status`, `dbee history` and the next `dbee rollback` (which undoes an undo by its
 * action, `undo-create` back to `create`) read these.
 */
function undoneLedger(w: TeradataWorkspace): Record<string, unknown> {
  const rollback = w.ledger('deployments').find((d) => d.KIND === 'rollback')!;
  const deploy = Number(rollback.REVERTS);
  const ids = (text: unknown) => (typeof text === 'string' ? text.replace(/#\d+/g, '#<id>') : text);
  const row = (s: Record<string, unknown>) => ({
    order: Number(s.STEP_ORDER),
    key: s.OBJECT_KEY,
    action: s.ACTION,
    status: s.STATUS,
    checksum: s.CHECKSUM,
    statements: s.STATEMENTS,
    reverse: s.REVERSE_STATEMENTS,
    previousChecksum: s.PREVIOUS_CHECKSUM,
    revertsStep: s.REVERTS_STEP === null ? null : Number(s.REVERTS_STEP),
    hazards: ids(s.HAZARDS),
  });
  const steps = w.ledger('steps');
  const byOrder = (a: { order: number }, b: { order: number }) => a.order - b.order;
  return {
    deployment: deploymentRow(rollback, deploy, false),
    undo: steps
      .filter((s) => Number(s.DEPLOYMENT_ID) === Number(rollback.ID))
      .map(row)
      .sort(byOrder),
    undone: steps
      .filter((s) => Number(s.DEPLOYMENT_ID) === deploy)
      .map((s) => ({ order: Number(s.STEP_ORDER), key: s.OBJECT_KEY, status: s.STATUS }))
      .sort(byOrder),
    objects: w
      .ledger('objects')
      .map((o) => `${o.PROJECT} ${o.OBJECT_KEY} ${o.CHECKSUM}`)
      .sort(),
    backups: w
      .ledger('backups')
      .map((b) => `${b.OBJECT_KEY} ${b.DROPPED_AT === null ? 'open' : 'closed'}`)
      .sort(),
  };
}

/**
 * A deployment's own row as `dbee status` and `dbee history` read it, and the next deployment's checks: its project,
 * environment, kind, status, steps counted, error and failed statement, the deployment it reverts (`reverts`: whether
 * it is `deployed`) and the summary's transaction scope (`scoped`). Left out, as not the pipeline's: the id and times;
 * who ran it (tool version, OS user, host, CI job); the plan checksum (the script's is the export's checksum of the
 * plan it was written from); `ledger_before` (not known when a script is written: null, `DeploymentInfo.before`); the
 * summary's smoke checks and fingerprint (a script runs no smoke checks and reads no fingerprint), and a rollback's
 * transaction scope (rollback.btq's summary is empty).
 */
function deploymentRow(d: Record<string, unknown>, deployed: number | null, scoped: boolean): Record<string, unknown> {
  const summary = JSON.parse(String(d.SUMMARY ?? '{}')) as Record<string, unknown>;
  return {
    project: d.PROJECT,
    environment: d.ENVIRONMENT,
    kind: d.KIND,
    status: d.STATUS,
    stepsTotal: Number(d.STEPS_TOTAL),
    stepsApplied: Number(d.STEPS_APPLIED),
    error: d.ERROR,
    failedStatement: d.FAILED_STATEMENT,
    reverts: d.REVERTS === null ? null : Number(d.REVERTS) === deployed,
    ...(scoped ? { transaction: summary.transaction } : {}),
  };
}

/**
 * What the ledger holds once the newest deployment ran (ids and times aside): its own row (`deploymentRow`), its
 * steps' rows, the objects' states, the migrations run and which backups are open.
 */
function deployedLedger(w: TeradataWorkspace): Record<string, unknown> {
  const deployments = w.ledger('deployments').filter((d) => d.KIND === 'deploy');
  const deploy = deployments
    .map((d) => Number(d.ID))
    .sort((x, y) => x - y)
    .at(-1);
  const row = (s: Record<string, unknown>) => ({
    order: Number(s.STEP_ORDER),
    key: s.OBJECT_KEY,
    action: s.ACTION,
    status: s.STATUS,
    checksum: s.CHECKSUM,
    statements: s.STATEMENTS,
    reverse: s.REVERSE_STATEMENTS,
    previousChecksum: s.PREVIOUS_CHECKSUM,
    transactional: Number(s.TRANSACTIONAL),
    hazards: s.HAZARDS,
  });
  return {
    deployment: deploymentRow(deployments.find((d) => Number(d.ID) === deploy)!, null, true),
    steps: w
      .ledger('steps')
      .filter((s) => Number(s.DEPLOYMENT_ID) === deploy)
      .map(row)
      .sort((x, y) => x.order - y.order),
    objects: w
      .ledger('objects')
      .map((o) => `${o.PROJECT} ${o.OBJECT_KEY} ${o.CHECKSUM}`)
      .sort(),
    migrations: w
      .ledger('migrations')
      .map((o) => `${o.PROJECT} ${o.VERSION} ${o.CHECKSUM}`)
      .sort(),
    backups: w
      .ledger('backups')
      .map((b) => `${b.OBJECT_KEY} ${b.DROPPED_AT === null ? 'open' : 'closed'}`)
      .sort(),
  };
}

describe("an undo's stages: rollback.btq in the order of dbee rollback (#92)", () => {
  it.each(RELEASES.filter((r) => r.name === 'example-tera' || r.name === 'example-ansi'))(
    '$name: each undo step, by dbee rollback and by rollback.btq: its stages, and the rows it leaves in the ledger',
    async (release) => {
      const byScript = await release.target();
      const r = await byScript.dbee('plan', { format: 'bteq', out: 'out', ...release.options });
      expect(r.code, r.stderr).toBe(0);
      const read = (name: string) => readFileSync(join(byScript.root, 'out', name), 'utf8');
      expect((await runBteq(read('deploy.btq'), byScript.session.newSession())).exitCode).toBe(0);
      const bteq = stagesOf(
        await sent(byScript, async () => (await runBteq(read('rollback.btq'), byScript.session.newSession())).exitCode),
        !release.ansi,
      );
      const byRunner = await release.target();
      expect((await byRunner.dbee('deploy', { assumeYes: true, ...release.options })).code).toBe(0);
      const runner = stagesOf(
        await sent(byRunner, async () => (await byRunner.dbee('rollback', { assumeYes: true })).code),
        true,
      );
      expect(runner.size).toBeGreaterThan(0);
      expect([...bteq.keys()].sort(), 'the undo steps each run recorded').toEqual([...runner.keys()].sort());
      for (const [order, stages] of runner) {
        const other = bteq.get(order)!;
        expect(stages, `undo step ${order}`).toContain('applied');
        expect(
          shared(other, stages),
          `undo step ${order}: rollback.btq ${other} against dbee rollback ${stages}`,
        ).toEqual(shared(stages, other));
      }
      // The undo's rows come from dbee rollback's own step journal, over the script's recorder: the same rows.
      const ledger = undoneLedger(byRunner);
      expect((ledger.undo as unknown[]).length).toBeGreaterThan(0);
      expect(undoneLedger(byScript)).toEqual(ledger);
    },
  );
});
