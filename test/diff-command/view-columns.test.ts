import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { copyExamples, TARGETS, type Target } from './targets';

/** The example workspace, with a project `reports` whose view stands on sales.customer_revenue. */
function workspace(): string {
  const root = copyExamples('dbee-view-columns-');
  const reports = join(root, 'examples', 'reports');
  mkdirSync(join(reports, 'schema'), { recursive: true });
  writeFileSync(
    join(reports, 'db.yaml'),
    'version: 1\nname: reports\nengine: postgres\nschemas: [reports]\ndependsOn: [sales]\n',
  );
  writeFileSync(
    join(reports, 'schema', 'reports.sql'),
    `CREATE SCHEMA reports;
CREATE VIEW reports.top_customers AS
  SELECT customer_id, revenue FROM sales.customer_revenue ORDER BY revenue DESC LIMIT 10;\n`,
  );
  return root;
}

describe.each(TARGETS)(
  'a view whose new definition changes its columns, deployed from the sources [%s]',
  (_n, setup) => {
    let root: string;
    let t: Target;

    beforeAll(async () => {
      root = workspace();
      t = await setup(root);
      const r = await run(root, 'deploy', { project: 'reports', env: t.env }, t.vars);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    });

    afterAll(async () => {
      await t?.done();
      rmSync(root, { recursive: true, force: true });
    });

    it('puts a column first: planned as a drop and a create with the views over it, dry run and deploy pass', async () => {
      const file = join(root, 'examples', 'sales', 'schema', 'sales', 'views', 'customer_revenue.sql');
      writeFileSync(
        file,
        readFileSync(file, 'utf8').replace(
          'SELECT c.id AS customer_id,',
          'SELECT c.country AS region,\n       c.id AS customer_id,',
        ),
      );
      // The column order changes under the application's queries: a hazard the environment must accept.
      const accept = { allowHazards: ['backward-incompatible'] };
      const smoke = join(root, 'examples', 'sales', 'smoke', 'revenue.yaml');
      writeFileSync(
        smoke,
        readFileSync(smoke, 'utf8').replace('{ customer_id: bigint,', '{ region: character, customer_id: bigint,'),
      );
      const dry = await run(root, 'deploy', { project: 'sales', env: t.env, dryRun: true, ...accept }, t.vars);
      expect(dry.stderr).toBe('');
      expect(dry.code).toBe(0);
      expect(dry.stdout).toContain(
        'DROP VIEW reports.top_customers;\nDROP VIEW sales.customer_revenue;\nCREATE VIEW sales.customer_revenue AS',
      );
      expect(dry.stdout).toContain('CREATE VIEW reports.top_customers AS');
      expect(dry.stdout).not.toContain('CREATE OR REPLACE VIEW sales.customer_revenue');

      const r = await run(root, 'deploy', { project: 'sales', env: t.env, ...accept }, t.vars);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const columns = await t.query(
        `select attname from pg_attribute where attrelid = 'sales.customer_revenue'::regclass and attnum > 0 order by attnum`,
      );
      expect(columns.map((c) => c.attname).slice(0, 2)).toEqual(['region', 'customer_id']);
      expect(await t.query('select * from reports.top_customers')).toBeInstanceOf(Array);
      const again = await run(root, 'diff', { project: 'sales', env: t.env, format: 'json', cache: false }, t.vars);
      expect(JSON.parse(again.stdout).changes).toBe(0);
    });
  },
);
