import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { TeamWorkspace, type TeamEnvironment } from '../support/team-workspace';

const PROMOTIONS = 'databases/sales/schema/sales/tables/promotions.sql';

/**
 * Issue #33 symptom 5: an object made behind dbee's back is a conflict everywhere. A hand-made `sales.promotions` was
 * refused on qa (sales planned from the ledger) and silently altered on dev, where another table of sales changed and
 * the project is planned by a diff (`--if-exists drop` ignored). The conflict hint's rule must work when pasted.
 */
describe('an object unknown to the ledger is a conflict under every planning mode (team workspace, server)', () => {
  let team: TeamWorkspace;
  beforeAll(async () => {
    team = await TeamWorkspace.create();
    for (const env of ['dev', 'qa'] as const) {
      const r = await run(team.root, 'deploy', { project: 'sales', env }, team.environment); // setup, in-process
      expect(r.code, r.stderr).toBe(0);
    }
    // Another table of sales changes, deployed to qa only: on dev the next deploy plans sales by a diff, on qa from the ledger.
    team.write({
      'databases/sales/schema/sales/tables/orders.sql': `CREATE TABLE sales.orders (
  id integer PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES core.customers (id),
  amount numeric(12, 2) NOT NULL,
  placed_on date NOT NULL DEFAULT current_date,
  note text
);
`,
    });
    const qa = await run(team.root, 'deploy', { project: 'sales', env: 'qa' }, team.environment); // setup, in-process
    expect(qa.code, qa.stderr).toBe(0);
    for (const env of ['dev', 'qa'] as const) {
      // Made by hand, with another shape than the sources' (next).
      await team.query(env, 'CREATE TABLE sales.promotions (code varchar(10), percent integer)');
      await team.query(env, `INSERT INTO sales.promotions VALUES ('HAND', 5)`);
    }
    team.write({
      [PROMOTIONS]:
        'CREATE TABLE sales.promotions (\n  code text NOT NULL,\n  percent integer NOT NULL,\n  starts_on date\n);\n',
    });
  });
  afterAll(async () => {
    await team?.dispose();
  });

  const promotions = (env: TeamEnvironment) =>
    team.query<{ column_name: string; data_type: string }>(
      env,
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'sales' AND table_name = 'promotions' ORDER BY ordinal_position`,
    );

  it.each(['dev', 'qa'] as const)(
    'deploy sales --env %s refuses the hand-made table (exit 1, nothing applied), with a rule that works when pasted',
    async (env) => {
      const before = await promotions(env);
      const r = await team.dbee(['deploy', 'sales', '--env', env]);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toContain(
        'table:sales.promotions already exists in the database, but the ledger does not know it',
      );
      expect(r.stderr).toContain(`${PROMOTIONS}:1`);
      expect(r.stderr).toContain(
        'conflicts: [{ match: "schema/sales/tables/promotions.sql", ifExists: rename }] in databases/sales/db.yaml',
      );
      expect(await promotions(env)).toEqual(before);
      if (env === 'dev') {
        expect(r.stdout + r.stderr).toContain('planning this project by a diff');
        const [{ note }] = await team.query<{ note: number }>(
          env,
          `SELECT count(*)::int AS note FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'note'`,
        );
        expect(note).toBe(0);
      }
    },
  );

  it("on dev (planned by a diff) the pasted rule renames the hand-made table aside and creates the sources' one", async () => {
    const db = readFileSync(join(team.root, 'databases/sales/db.yaml'), 'utf8');
    team.write({
      'databases/sales/db.yaml':
        db + 'conflicts:\n  - match: "schema/sales/tables/promotions.sql"\n    ifExists: rename\n',
    });
    try {
      const r = await team.dbee(['deploy', 'sales', '--env', 'dev']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    } finally {
      team.write({ 'databases/sales/db.yaml': db });
    }
    expect(await promotions('dev')).toEqual([
      { column_name: 'code', data_type: 'text' },
      { column_name: 'percent', data_type: 'integer' },
      { column_name: 'starts_on', data_type: 'date' },
    ]);
    const backups = await team.query<{ table_name: string }>(
      'dev',
      `SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'promotions_bak%'`,
    );
    expect(backups).toHaveLength(1);
  });

  it("on qa, --if-exists drop drops the hand-made table and creates the sources' one", async () => {
    const r = await team.dbee([
      'deploy',
      'sales',
      '--env',
      'qa',
      '--if-exists',
      'drop',
      '--allow-hazards',
      'data-loss',
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((await promotions('qa')).map((c) => c.column_name)).toEqual(['code', 'percent', 'starts_on']);
    expect(await team.query('qa', 'SELECT * FROM sales.promotions')).toEqual([]);
  });
});
