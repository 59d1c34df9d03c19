import { dbYaml, type TestWorkspace } from '../runner/helpers';

/** The views of schema `app` the smoke baseline of the last deployment compiled, by name, sorted. */
export async function compiledViews(w: TestWorkspace): Promise<string[]> {
  const rows = await w.target.query<{ check_name: string }>(
    `SELECT check_name FROM dbee.smoke_results WHERE deployment_id = (SELECT max(id) FROM dbee.deployments)
        AND check_name LIKE 'baseline: view %' ORDER BY 1`,
  );
  return rows.map((r) => r.check_name.replace(/^baseline: view app\.(\w+) compiles$/, '$1'));
}

/**
 * Project `app`: table `t`; view `a` over it with a constant column `k`; `b` divides by `k`; `c` counts the rows of `a`
 * (reads no column of it), `d` tests that `c` has rows; `w` reads `a` as a whole row.
 */
export const OPAQUE = {
  'app/db.yaml': dbYaml('app'),
  'app/a_schema.sql': 'CREATE SCHEMA app;\n',
  'app/t.sql': 'CREATE TABLE app.t (id int PRIMARY KEY);\n',
  'app/a.sql': 'CREATE VIEW app.a AS SELECT id, 1 AS k FROM app.t;\n',
  'app/b.sql': 'CREATE VIEW app.b AS SELECT id, 1 / k AS z FROM app.a;\n',
  'app/c.sql': 'CREATE VIEW app.c AS SELECT (SELECT count(*) FROM app.a) AS n;\n',
  'app/d.sql': 'CREATE VIEW app.d AS SELECT 1 AS one WHERE EXISTS (SELECT FROM app.c);\n',
  'app/w.sql': 'CREATE VIEW app.w AS SELECT row_to_json(x) AS j FROM app.a x;\n',
};
