import { describe, expect, test } from 'vitest';
import { sameDefinition } from '../../packages/postgres/src/compare/same-definition';
import { extract } from '../../packages/postgres/src/extract/extract';
import { introspect } from '../../packages/postgres/src/introspect';
import { diffModels } from '../support/pg-diff';
import { run } from '../support/run';
import { dbYaml, workspaceWith, workspaceYaml } from '../runner/helpers';
import { convergeScratch, ENGINES, scratchPair, summary } from './helpers';

/**
 * What PostgreSQL changes in place is planned in place: an index's storage parameters (`ALTER INDEX ... SET/RESET`,
 * not a drop and a rebuild), a foreign key's deferrability (`ALTER CONSTRAINT`, not a drop and an add that checks
 * every row again). Each plan is applied and converges, and its reverse statements, applied last step first, give
 * the live schema back; anything else that differs still drops and creates.
 */
describe.each(ENGINES)('changes PostgreSQL makes in place [%s]', (engine) => {
  const db = scratchPair(engine);

  /** Converged from `before` to `after` in schema `s`; then the reverse, last step first, diffs empty with `before`. */
  const roundTrip = async (s: string, before: string, after: string) => {
    const scope = { schemas: [s] };
    const { changes, steps } = await convergeScratch(db.live, db.desired, s, before, after, { sameDefinition });
    for (const step of [...steps].reverse()) for (const sql of step.reverse ?? []) await db.live.conn.execute(sql);
    await db.desired.conn.execute(`drop schema ${s} cascade; create schema ${s}; ${before}`);
    const back = diffModels(await introspect(db.live.conn, scope), await introspect(db.desired.conn, scope), {
      sameDefinition,
    });
    expect(back).toEqual([]);
    return {
      changes: summary(changes),
      statements: steps.flatMap((x) => x.statements),
      reverse: steps.flatMap((x) => x.reverse ?? []),
    };
  };

  const indexed = (s: string, withClause: string, where = '') => `
    create table ${s}.t (a integer primary key, b text);
    create index t_b on ${s}.t (b) include (a)${withClause}${where};`;

  test("an index's storage parameter set, changed and taken off: ALTER INDEX, reversed", async () => {
    expect(await roundTrip('ip1', indexed('ip1', ''), indexed('ip1', ' with (fillfactor = 70)'))).toEqual({
      changes: ['alter-index-options index:ip1.t_b@ip1.t'],
      statements: ['ALTER INDEX ip1.t_b SET (fillfactor=70)'],
      reverse: ['ALTER INDEX ip1.t_b RESET (fillfactor)'],
    });
    const both = (f: number) => ` with (fillfactor = ${f}, deduplicate_items = off)`;
    expect(
      await roundTrip(
        'ip2',
        indexed('ip2', both(70), ' where b > $$x$$'),
        indexed('ip2', ' with (fillfactor = 80)', ' where b > $$x$$'),
      ),
    ).toEqual({
      changes: ['alter-index-options index:ip2.t_b@ip2.t'],
      statements: ['ALTER INDEX ip2.t_b SET (fillfactor=80)', 'ALTER INDEX ip2.t_b RESET (deduplicate_items)'],
      reverse: ['ALTER INDEX ip2.t_b SET (fillfactor=70, deduplicate_items=off)'],
    });
    // The definition prints them in the catalog's order, which a SET of one alone would not give.
    expect(
      await roundTrip(
        'ip7',
        indexed('ip7', both(70)),
        indexed('ip7', ' with (deduplicate_items = off, fillfactor = 70)'),
      ),
    ).toEqual({
      changes: ['alter-index-options index:ip7.t_b@ip7.t'],
      statements: [
        'ALTER INDEX ip7.t_b RESET (fillfactor, deduplicate_items)',
        'ALTER INDEX ip7.t_b SET (deduplicate_items=off, fillfactor=70)',
      ],
      reverse: [
        'ALTER INDEX ip7.t_b RESET (deduplicate_items, fillfactor)',
        'ALTER INDEX ip7.t_b SET (fillfactor=70, deduplicate_items=off)',
      ],
    });
  });

  test('an index whose columns change with its parameters is still dropped and created again', async () => {
    const other = `
      create table ip3.t (a integer primary key, b text);
      create index t_b on ip3.t (b, a) with (fillfactor = 70);`;
    const { changes } = await convergeScratch(db.live, db.desired, 'ip3', indexed('ip3', ''), other, {
      sameDefinition,
    });
    expect(summary(changes)).toEqual(['drop-index index:ip3.t_b@ip3.t', 'create-index index:ip3.t_b@ip3.t']);
  });

  const keyed = (s: string, timing: string, check = '') => `
    create table ${s}.p (id integer primary key);
    create table ${s}.c (id integer primary key, p integer${check});
    alter table ${s}.c add constraint c_p foreign key (p) references ${s}.p (id) on delete cascade ${timing};
    alter table ${s}.c add constraint c_u unique (p) ${timing};`;

  test("a foreign key's deferrability: ALTER CONSTRAINT, reversed; a unique key's still dropped and added", async () => {
    const r = await roundTrip('ip4', keyed('ip4', ''), keyed('ip4', 'deferrable initially deferred'));
    expect(r.changes.sort()).toEqual([
      'add-constraint table:ip4.c',
      'alter-constraint table:ip4.c',
      'drop-constraint table:ip4.c',
    ]);
    expect(r.statements).toContain('ALTER TABLE ip4.c ALTER CONSTRAINT c_p DEFERRABLE INITIALLY DEFERRED');
    expect(r.reverse).toContain('ALTER TABLE ip4.c ALTER CONSTRAINT c_p NOT DEFERRABLE');
    expect(r.statements.join('\n')).not.toMatch(/DROP CONSTRAINT c_p|ADD CONSTRAINT c_p/);
    const back = await roundTrip(
      'ip5',
      keyed('ip5', 'deferrable initially deferred'),
      keyed('ip5', 'deferrable initially immediate'),
    );
    expect(back.statements).toContain('ALTER TABLE ip5.c ALTER CONSTRAINT c_p DEFERRABLE INITIALLY IMMEDIATE');
    expect(back.reverse).toContain('ALTER TABLE ip5.c ALTER CONSTRAINT c_p DEFERRABLE INITIALLY DEFERRED');
  });

  const policed = (s: string, using: string, comment: string | null) => `
    create table ${s}.t (a integer primary key, b text);
    alter table ${s}.t enable row level security;
    create policy p on ${s}.t using (${using});
    ${comment === null ? '' : `comment on policy p on ${s}.t is '${comment}';`}`;

  test("a policy's comment: set, changed and taken off (COMMENT ON POLICY, reversed); kept when the policy is made again", async () => {
    expect(await roundTrip('ip8', policed('ip8', 'true', null), policed('ip8', 'true', 'who reads'))).toEqual({
      changes: ['set-comment policy:ip8.p@ip8.t'],
      statements: ["COMMENT ON POLICY p ON ip8.t IS 'who reads'"],
      reverse: ['COMMENT ON POLICY p ON ip8.t IS NULL'],
    });
    expect(await roundTrip('ip9', policed('ip9', 'true', 'old'), policed('ip9', 'true', 'new'))).toMatchObject({
      statements: ["COMMENT ON POLICY p ON ip9.t IS 'new'"],
      reverse: ["COMMENT ON POLICY p ON ip9.t IS 'old'"],
    });
    expect(await roundTrip('ip10', policed('ip10', 'true', 'old'), policed('ip10', 'true', null))).toMatchObject({
      statements: ['COMMENT ON POLICY p ON ip10.t IS NULL'],
      reverse: ["COMMENT ON POLICY p ON ip10.t IS 'old'"],
    });
    // A policy whose expression changes is dropped and created again: its comment is set again after it.
    const { changes, steps } = await convergeScratch(
      db.live,
      db.desired,
      'ip11',
      policed('ip11', 'true', 'same'),
      policed('ip11', 'a > 0', 'same'),
      { sameDefinition },
    );
    expect(summary(changes)).toEqual(['alter-table-options table:ip11.t', 'set-comment policy:ip11.p@ip11.t']);
    expect(steps[1]!.statements).toEqual(["COMMENT ON POLICY p ON ip11.t IS 'same'"]);
    // Extract writes it in its table's file, after the policy.
    const files = await extract(db.desired.conn, { schemas: ['ip11'] });
    expect(files.find((f) => f.path === 'schema/ip11/tables/t.sql')?.text).toMatch(
      /CREATE POLICY p ON ip11\.t [^;]*;\n(?:.*\n)*COMMENT ON POLICY p ON ip11\.t IS 'same';/,
    );
  });

  test('a foreign key whose action changes with its deferrability is still dropped and added', async () => {
    const other = keyed('ip6', 'deferrable').replace('on delete cascade', 'on delete set null');
    const { changes } = await convergeScratch(db.live, db.desired, 'ip6', keyed('ip6', ''), other, { sameDefinition });
    expect(summary(changes).filter((c) => c.includes('alter-constraint'))).toEqual([]);
  });
});

const DEPLOYED: Record<string, string> = {
  'ip/db.yaml': dbYaml('ip'),
  'ip/schema.sql': 'CREATE SCHEMA ip;\n',
  'ip/p.sql': 'CREATE TABLE ip.p (id int PRIMARY KEY);\n',
};
/** The table's file: `v2` with an index's fillfactor, a deferred foreign key and a policy's comment. */
const table = (v2: boolean) => `CREATE TABLE ip.t (id int PRIMARY KEY, pid int, note text,
  CONSTRAINT t_p FOREIGN KEY (pid) REFERENCES ip.p (id)${v2 ? ' DEFERRABLE INITIALLY DEFERRED' : ''});
CREATE INDEX t_note ON ip.t (note)${v2 ? ' WITH (fillfactor = 70)' : ''};
ALTER TABLE ip.t ENABLE ROW LEVEL SECURITY;
CREATE POLICY pol ON ip.t USING (true);
${v2 ? "COMMENT ON POLICY pol ON ip.t IS 'rows for all';\n" : ''}`;

describe.each(ENGINES)('deployed in place, and rolled back [%s]', (engine) => {
  test('the plan alters in place; the deployment converges, its diff is empty; the rollback gives the old state', async () => {
    const w = await workspaceWith(engine, {
      ...DEPLOYED,
      'ip/t.sql': table(false),
      'dbee.yaml': workspaceYaml(engine),
    });
    try {
      /** What the catalog says of the three. */
      const state = () =>
        w.target.query(`SELECT (SELECT indexdef FROM pg_indexes WHERE schemaname = 'ip' AND indexname = 't_note') AS index,
          (SELECT condeferrable::text || condeferred::text FROM pg_constraint WHERE conname = 't_p') AS fk,
          (SELECT obj_description(oid, 'pg_policy') FROM pg_policy WHERE polname = 'pol') AS comment`);
      const first = await run(w.root, 'deploy', { project: 'ip' }, w.target.vars);
      expect(first.code, first.stderr).toBe(0);
      const before = await state();
      w.write('ip/t.sql', table(true));
      const diff = await run(w.root, 'diff', { project: 'ip', format: 'json' }, w.target.vars);
      expect(diff.stderr).toBe('');
      const steps = (JSON.parse(diff.stdout).steps as { statements: string[]; reverse: string[] | null }[]).map((s) => [
        s.statements,
        s.reverse,
      ]);
      expect(steps).toEqual([
        [
          ['ALTER TABLE ip.t ALTER CONSTRAINT t_p DEFERRABLE INITIALLY DEFERRED'],
          ['ALTER TABLE ip.t ALTER CONSTRAINT t_p NOT DEFERRABLE'],
        ],
        [['ALTER INDEX ip.t_note SET (fillfactor=70)'], ['ALTER INDEX ip.t_note RESET (fillfactor)']],
        [["COMMENT ON POLICY pol ON ip.t IS 'rows for all'"], ['COMMENT ON POLICY pol ON ip.t IS NULL']],
      ]);
      // The deployment's convergence check passes; nothing is left to plan.
      const second = await run(w.root, 'deploy', { project: 'ip' }, w.target.vars);
      expect(second.code, second.stderr).toBe(0);
      expect(await state()).toEqual([
        {
          index: "CREATE INDEX t_note ON ip.t USING btree (note) WITH (fillfactor='70')",
          fk: 'truetrue',
          comment: 'rows for all',
        },
      ]);
      const again = await run(w.root, 'diff', { project: 'ip', format: 'json' }, w.target.vars);
      expect(JSON.parse(again.stdout).steps).toEqual([]);
      // The ledger's reverses take it back.
      const back = await run(w.root, 'rollback', { project: 'ip' }, w.target.vars);
      expect(back.code, back.stderr).toBe(0);
      expect(await state()).toEqual(before);
    } finally {
      await w.remove();
    }
  });
});
