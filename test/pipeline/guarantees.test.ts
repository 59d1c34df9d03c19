import { describe, expect, it } from 'vitest';
import { COMMANDS, type CommandName } from '@dbee/core';
import { STRATEGIES } from '../../packages/core/src/operations/strategies';
import { ENGINES, type EngineName } from '../promotion/helpers';
import { type Row, runMatrix, strategyRows } from './guarantee-matrix';
import { run } from '../support/run';

/**
 * The guarantee matrix (issue #55): every command of the registry either reads only (said why) or is a row whose
 * guarantees are each a cell (`runMatrix`, guarantee-matrix.ts, says which and how each is checked), run against one
 * shared workspace in one pass, each command set up by the one before. The rows of `deploy --strategy <name>` and of
 * the strategies' later phases (`complete`, `abort`) are the strategies' own (`strategyRows`, from `STRATEGIES`): a
 * strategy of the table gets its cells with no line here.
 *
 * `KNOWN_GAPS` lists the cells that do not hold yet, with the reason; the test prints them and fails when one of them
 * starts to hold (remove it from the list: the list only shrinks) or when a cell not in it fails. `NOT_DRIVEN` lists
 * the rows run by a test of their own stage instead (printed with the gaps).
 */
const BY_STRATEGY = strategyRows(STRATEGIES);

/** Why a row ends with no convergence check (issue 88), where several rows share the reason. */
const AUDIT = 'installs or removes database-wide event triggers, no object of the sources';
const ROUTINE_SWITCH =
  'a compensating deployment that disables one routine (its grants revoked, or renamed aside): a state the sources do not describe, not compared (enable, which puts it back, is)';

/** Every command of the registry: its rows, or why it never changes a database. */
const MATRIX: Record<CommandName, Row[] | { readsOnly: string }> = {
  build: { readsOnly: 'builds the desired model in a shadow database' },
  diff: { readsOnly: 'compares' },
  plan: { readsOnly: 'writes a plan or a package folder' },
  status: { readsOnly: 'reads the ledger and the catalog' },
  log: { readsOnly: 'reads the ledger' },
  extract: { readsOnly: 'writes source files' },
  'dbt-sources': { readsOnly: 'builds the desired schema in a shadow database and writes dbt YAML' },
  // Database-wide event triggers: a hand edit does not stop it (auditing is how one finds who makes them).
  audit: [
    {
      name: 'audit --enable',
      command: 'audit',
      options: { enable: true },
      driven: true,
      onHandEdit: 'goes on',
      notApplicable: { converged: AUDIT },
      reset: async (w) => expect((await w.cli('audit', { disable: true, assumeYes: true })).code).toBe(0),
    },
    {
      name: 'audit --disable',
      command: 'audit',
      options: { disable: true },
      driven: true,
      onHandEdit: 'goes on',
      notApplicable: { converged: AUDIT },
      reset: async (w) => expect((await w.cli('audit', { enable: true, assumeYes: true })).code).toBe(0),
    },
  ],
  graph: { readsOnly: 'writes a page' },
  docs: { readsOnly: 'writes a site; its board reads ledgers through status and log' },
  baseline: { readsOnly: 'writes migrations/baseline.yaml; reads no database' },
  check: { readsOnly: "a dry run of the application's queries" },
  advise: {
    readsOnly:
      'reads the catalog and explains queries (hypothetical indexes live in its session); --write writes source files',
  },
  version: { readsOnly: 'prints settings' },
  config: { readsOnly: 'prints the configuration; --test-connection runs SELECT 1' },
  detag: { readsOnly: 'rewrites source files; reads no database' },
  unlock: {
    readsOnly:
      "changes no schema and writes no ledger row: deletes a dead holder's lock row after a confirmation (no gate but that confirmation)",
  },
  'smoke-test': { readsOnly: 'runs checks and records their results; changes no schema' },
  preview: {
    readsOnly:
      "reads the environment's schemas only: it changes a preview database it makes beside it (no gate applies there), through clone and deploy (whose rows are here)",
  },
  // Before deploy: it undoes a deployment of a view made for it, and the deploy row below makes the view again.
  rollback: [
    {
      name: 'rollback',
      command: 'rollback',
      options: {},
      driven: true,
      // converged: the fingerprint it records equals the one the deployment before the undone one recorded.
      setup: async (w) => {
        w.w.write('a/v.sql', 'CREATE VIEW a.v AS SELECT id FROM a.t;');
        expect((await w.cli('deploy', {})).code).toBe(0);
      },
      reset: async (w) => expect((await w.cli('deploy', {})).code).toBe(0),
    },
  ],
  deploy: [
    {
      name: 'deploy --objects',
      command: 'deploy',
      options: { objects: ['function:a.g'] },
      driven: true,
      // Two pending changes, one selected: the other (a view) stays pending; the next deploy deploys it.
      setup: async (w) => {
        w.w.write('a/g.sql', "CREATE FUNCTION a.g() RETURNS int LANGUAGE sql AS 'SELECT 2';");
        w.w.write('a/w.sql', 'CREATE VIEW a.w AS SELECT id FROM a.t;');
      },
    },
    // The strategies' own rows: `deploy --strategy direct`, then `deploy --strategy expand-contract`.
    ...BY_STRATEGY.deploy!,
  ],
  complete: BY_STRATEGY.complete!,
  abort: BY_STRATEGY.abort!,
  switch: BY_STRATEGY.switch!,
  fallback: BY_STRATEGY.fallback!,
  finish: BY_STRATEGY.finish!,
  disable: [
    {
      name: 'disable',
      command: 'disable',
      options: { object: 'a.f' },
      driven: true,
      notApplicable: { converged: ROUTINE_SWITCH },
      reset: async (w) => expect((await w.cli('enable', { object: 'a.f', assumeYes: true })).code).toBe(0),
    },
  ],
  enable: [
    {
      name: 'enable',
      command: 'enable',
      options: { object: 'a.f' },
      driven: true,
      reset: async (w) => expect((await w.cli('disable', { object: 'a.f', assumeYes: true })).code).toBe(0),
    },
  ],
  cleanup: [
    {
      name: 'cleanup',
      command: 'cleanup',
      // Every backup is past a retention of 0s: the one the setup made is dropped.
      options: { olderThan: '0s' },
      driven: true,
      notApplicable: { converged: 'drops the backups dbee kept, which are no objects of the sources' },
      // A table in the way of a new one: the `rename` strategy keeps it as a backup (recorded in the ledger).
      setup: async (w) => {
        await w.query('e', 'CREATE TABLE a.k (id int)');
        w.w.write('a/k.sql', 'CREATE TABLE a.k (id int PRIMARY KEY);');
        expect((await w.cli('deploy', { ifExists: 'rename' })).code).toBe(0);
      },
    },
  ],
  adopt: [
    {
      name: 'adopt',
      command: 'adopt',
      // A project dbee never deployed, whose table exists already.
      options: { project: 'b' },
      driven: true,
      setup: async (w) => {
        w.w.write('b/db.yaml', 'version: 1\nname: b\nengine: postgres\nschemas: [b]\n');
        w.w.write('b/t.sql', 'CREATE SCHEMA b;\nCREATE TABLE b.t (id int PRIMARY KEY);');
        await w.query('e', 'CREATE SCHEMA b');
        await w.query('e', 'CREATE TABLE b.t (id int PRIMARY KEY)');
      },
      notApplicable: {
        'step rows': 'adopt applies nothing: its change is the ledger (object states, no step)',
        'hand edit':
          'adopt takes a project dbee never deployed there: no recorded state for an edit to depart from (what differs from the sources is recorded with a marker that never matches)',
        'hand edit, dry run': 'as above',
        converged: 'applies nothing: it records the objects as they are',
      },
    },
  ],
  // `import --env`: another tool's history recorded as an adoption (the files written by a first `import` without it).
  import: [
    {
      name: 'import --env',
      command: 'import',
      options: {
        project: 'c',
        from: 'dbmate',
        folder: 'c-dbmate',
        schemas: 'c',
        env: 'e',
        historyTable: 'c.schema_migrations',
      },
      driven: true,
      setup: async (w) => {
        w.w.write(
          'c-dbmate/20240101000000_t.sql',
          '-- migrate:up\nCREATE SCHEMA c;\nCREATE TABLE c.t (id int PRIMARY KEY);\n\n-- migrate:down\nDROP SCHEMA c CASCADE;\n',
        );
        const files = await run(w.w.root, 'import', { project: 'c', from: 'dbmate', folder: 'c-dbmate', schemas: 'c' });
        expect(files.code, files.stderr).toBe(0);
        await w.query('e', 'CREATE SCHEMA c');
        await w.query('e', 'CREATE TABLE c.t (id int PRIMARY KEY)');
        await w.query('e', 'CREATE TABLE c.schema_migrations (version varchar(128) PRIMARY KEY)');
        await w.query('e', "INSERT INTO c.schema_migrations VALUES ('20240101000000')");
      },
      notApplicable: {
        'step rows': 'import applies nothing: its change is the ledger (object states and migrations, no step)',
        'hand edit':
          'import takes a project dbee never deployed there, as adopt does: no recorded state for an edit to depart from',
        'hand edit, dry run': 'as above',
        converged: 'applies nothing: it records the objects as they are, as adopt does',
      },
    },
  ],
  clone: [
    {
      name: 'clone',
      command: 'clone',
      options: { from: 's', to: 'e' },
      driven: true,
      // The gap from the target as it is to the source: a view made by hand on the target is dropped by the plan.
      onHandEdit: 'puts back',
      // The source environment holds a view the target does not: the clone creates it there.
      setup: async (w) => {
        w.w.write('a/x.sql', 'CREATE VIEW a.x AS SELECT id FROM a.t;');
        const r = await w.dbee('deploy', { project: 'a', env: 's' }, w.vars('e', 's'));
        expect(r.code, r.stderr).toBe(0);
      },
      // A clone that ran (the hand edit put back) leaves nothing to clone: the source gains another view.
      reset: async (w) => {
        w.w.write('a/y.sql', 'CREATE VIEW a.y AS SELECT id FROM a.t;');
        const r = await w.dbee('deploy', { project: 'a', env: 's' }, w.vars('e', 's'));
        expect(r.code, r.stderr).toBe(0);
      },
    },
  ],
};

/** Cells that do not hold yet, and why. Remove a line when its cell holds: the test says which. */
const KNOWN_GAPS: Record<string, string> = {};

/**
 * Rows this workspace cannot run (`driven: false`), a command needing a state it cannot make: the blue/green
 * strategy's phases (`StrategyPhase.ownStage`: a server with wal_level = logical and a router). Their cells are checked
 * by the same `runMatrix` on a stage of their own (test/blue-green/matrix.test.ts); listed here, never counted.
 */
const NOT_DRIVEN = Object.values(MATRIX).flatMap((rows) =>
  Array.isArray(rows) ? rows.filter((r) => !r.driven).map((r) => r.name) : [],
);

describe('the guarantee matrix covers the command registry', () => {
  it('every command has rows or says why it reads only', () => {
    expect(Object.keys(MATRIX).sort()).toEqual([...COMMANDS].sort());
  });
});

describe.each(ENGINES)('the guarantee matrix [%s]', (engine: EngineName) => {
  it('holds every cell but the known gaps', async () => {
    const rows = Object.values(MATRIX).flatMap((r) => (Array.isArray(r) ? r : []));
    const outcomes = await runMatrix(engine, rows, { knownGaps: KNOWN_GAPS, notDriven: NOT_DRIVEN });
    const failing = [...outcomes].filter(([, holds]) => !holds).map(([c]) => c);
    const gaps = Object.keys(KNOWN_GAPS);
    expect(
      failing.filter((c) => !(c in KNOWN_GAPS)),
      'cells that fail and are not known gaps',
    ).toEqual([]);
    expect(
      gaps.filter((g) => outcomes.get(g) === true),
      'known gaps that hold now: remove them from KNOWN_GAPS',
    ).toEqual([]);
    expect(
      gaps.filter((g) => !outcomes.has(g)),
      'known gaps not checked by any row',
    ).toEqual([]);
  });
});
