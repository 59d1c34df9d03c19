import { describe, expect, it, onTestFinished } from 'vitest';
import { run } from '../support/run';
import { dbYaml, workspaceWith } from './helpers';

/**
 * A view of a third project over two others (reports over core's and sales's tables): a dry run's scratch copy that
 * takes its schema takes the schemas it reads too, as the workspace declares them (`dependsOn`). Before, the copy
 * took reports alone (a reference into a schema not read is not in the catalog's model), and the view could not be
 * created there: `deploy core --dry-run` of a column and `rollback reports --dry-run` were refused ("could not copy
 * the target's schemas ... relation sales.orders does not exist"). Found trying three projects from the packed
 * packages. Server only: the copy's closure is the same code on PGlite.
 */
const FILES = {
  'core/db.yaml': dbYaml('core'),
  'core/schema.sql': 'CREATE SCHEMA core;\n',
  'core/customers.sql': 'CREATE TABLE core.customers (id bigint PRIMARY KEY, email text NOT NULL);\n',
  'sales/db.yaml': dbYaml('sales', 'dependsOn: [core]\n'),
  'sales/schema.sql': 'CREATE SCHEMA sales;\n',
  'sales/orders.sql':
    'CREATE TABLE sales.orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES core.customers (id), amount numeric);\n',
  'reports/db.yaml': dbYaml('reports', 'dependsOn: [sales, core]\n'),
  'reports/schema.sql': 'CREATE SCHEMA reports;\n',
  'reports/totals.sql':
    'CREATE VIEW reports.totals AS SELECT c.email, sum(o.amount) AS total FROM core.customers c JOIN sales.orders o ON o.customer_id = c.id GROUP BY c.email;\n',
};

describe('a dry run whose copy takes a third project’s view [postgres]', () => {
  it('copies the schemas the view reads: deploy --dry-run of the dependency and rollback --dry-run of the view', async () => {
    const w = await workspaceWith('postgres', FILES);
    onTestFinished(() => w.remove());
    const first = await run(w.root, 'deploy', { project: 'reports' }, w.target.vars);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    w.write('reports/emails.sql', 'CREATE VIEW reports.emails AS SELECT email FROM core.customers;\n');
    const second = await run(w.root, 'deploy', { project: 'reports' }, w.target.vars);
    expect(second.code, second.stdout + second.stderr).toBe(0);

    w.write(
      'core/customers.sql',
      'CREATE TABLE core.customers (id bigint PRIMARY KEY, email text NOT NULL, note text);\n',
    );
    const dry = await run(w.root, 'deploy', { project: 'core', dryRun: true }, w.target.vars);
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/dry run: verified on a scratch copy .* and converged/);

    const back = await run(w.root, 'rollback', { project: 'reports', dryRun: true }, w.target.vars);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(back.stdout).toContain(
      "dry run: the rollback ran on a scratch copy of the target's schemas (1 step, all applied)",
    );
  });
});
