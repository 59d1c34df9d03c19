import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';
import { queryUrl, scratchDatabase } from '../support/pg';

const WS = `version: 1
defaultEnvironment: local
environments:
  local:
    engine: postgres
    connection: { embedded: .dbee/local }
  server:
    engine: postgres
    connection: { url: "\${CATALOG_SETTINGS_URL}" }
`;
const TABLE = 'CREATE SCHEMA a;\nCREATE TABLE a.t (id int PRIMARY KEY, b text);\n';

/**
 * Issue 88, failure 2, as a user meets it: `ALTER TABLE ... CLUSTER ON idx` in the table's file (psql runs it so, the
 * index in a later file) did not build ("index does not exist"); `ALTER COLUMN ... SET (n_distinct ...)` added to a
 * deployed table's file was "nothing to deploy", and `diff --fail-on-diff` exited 0.
 */
// On the server only: the same model comparison runs on PGlite in test/diff/column-settings.test.ts, and an embedded
// environment here would cost about 40 s of the suite's time.
describe.each([['postgres', 'server']])('column settings and CLUSTER ON in the sources [%s]', (_name, env) => {
  let w: ReturnType<typeof tempWorkspace>;
  let vars: NodeJS.ProcessEnv = {};
  let url = '';
  let drop = async () => {};
  beforeAll(async () => {
    w = tempWorkspace({
      'dbee.yaml': WS,
      'a/db.yaml': 'version: 1\nname: a\nengine: postgres\nschemas: [a]\n',
      'a/t.sql': `${TABLE}ALTER TABLE ONLY a.t CLUSTER ON t_b;\n`,
      'a/t_b.sql': 'CREATE INDEX t_b ON a.t (b);\n',
    });
    if (env === 'server') {
      const db = await scratchDatabase();
      vars = { CATALOG_SETTINGS_URL: db.url };
      url = db.url;
      drop = db.drop;
    }
  });
  afterAll(async () => {
    await drop();
    w?.remove();
  });

  const diff = () => run(w.root, 'diff', { project: 'a', env, failOnDiff: true, cache: false }, vars);

  it('CLUSTER ON in the table file builds and deploys after the index; the next diff is empty', async () => {
    const deployed = await run(w.root, 'deploy', { project: 'a', env }, vars);
    expect(deployed.stderr).toBe('');
    expect(deployed.code).toBe(0);
    // The sources' model has the mark (CLUSTER ON ran on the shadow database): an empty diff means the target has it.
    const again = await diff();
    expect(again.stdout + again.stderr).toContain('no differences');
    expect(again.code).toBe(0);
  });

  it('n_distinct added to the deployed table file is a difference, deployed, then none', async () => {
    w.write(
      'a/t.sql',
      `${TABLE}ALTER TABLE ONLY a.t CLUSTER ON t_b;\nALTER TABLE a.t ALTER COLUMN b SET (n_distinct = -0.02);\n`,
    );
    const found = await diff();
    expect(found.code).toBe(1);
    expect(found.stdout).toContain('ALTER TABLE a.t ALTER COLUMN b SET (n_distinct=-0.02)');
    const deployed = await run(w.root, 'deploy', { project: 'a', env }, vars);
    expect(deployed.stderr).toBe('');
    expect(deployed.code).toBe(0);
    expect(deployed.stdout).not.toContain('nothing to deploy');
    const again = await diff();
    expect(again.code).toBe(0);
  });

  it('objects of classes dbee does not model, made by hand on the target, are named on the not compared line', async () => {
    await queryUrl(
      url,
      `CREATE STATISTICS a.t_stats ON id, b FROM a.t;
       CREATE RULE t_no_delete AS ON DELETE TO a.t DO INSTEAD NOTHING;
       CREATE AGGREGATE a.total(int) (sfunc = int4pl, stype = int, initcond = '0');`,
    );
    const r = await run(w.root, 'diff', { project: 'a', env, cache: false }, vars);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'not compared: aggregate (dbee does not manage them, docs/diffs.md): a.total(integer) (only on server',
    );
    expect(r.stdout).toContain(
      'not compared: extended statistics (dbee does not manage them, docs/diffs.md): a.t_stats (only on server',
    );
    expect(r.stdout).toContain(
      'not compared: rule (dbee does not manage them, docs/diffs.md): a.t_no_delete on t (only on server',
    );
    expect(r.stdout).toContain('no differences in what was compared');
  });
});

/**
 * Issue 88, failure 6: `schemas: [MySchema]` is `myschema` (db.yaml's names are read as SQL reads them), which neither
 * environment has: `diff --against-env` said "no differences" whatever differed. Now refused at the db.yaml line,
 * naming the schema meant. Default privileges set without IN SCHEMA are named too.
 */
describe('two environments, a schema named in db.yaml that neither has', () => {
  let w: ReturnType<typeof tempWorkspace>;
  const drops: (() => Promise<void>)[] = [];
  let vars: NodeJS.ProcessEnv = {};
  let qa = '';
  beforeAll(async () => {
    const [a, b] = await Promise.all([scratchDatabase(), scratchDatabase()]);
    drops.push(a.drop, b.drop);
    vars = { CS_DEV_URL: a.url, CS_QA_URL: b.url };
    qa = b.url;
    for (const db of [a, b]) await queryUrl(db.url, 'CREATE SCHEMA "MySchema"; CREATE TABLE "MySchema".t (id int)');
    await queryUrl(b.url, 'ALTER TABLE "MySchema".t ADD COLUMN note text');
    w = tempWorkspace({
      'dbee.yaml': `version: 1
defaultEnvironment: dev
environments:
  dev:
    engine: postgres
    connection: { url: "\${CS_DEV_URL}" }
  qa:
    engine: postgres
    connection: { url: "\${CS_QA_URL}" }
`,
      'm/db.yaml': 'version: 1\nname: m\nengine: postgres\nschemas:\n  - MySchema\n',
      // Unquoted, as db.yaml: both name myschema; the databases were made with "MySchema" (a dump, another tool).
      'm/t.sql': 'CREATE SCHEMA MySchema;\nCREATE TABLE MySchema.t (id int);\n',
    });
  });
  afterAll(async () => {
    await Promise.all(drops.map((d) => d()));
    w?.remove();
  });

  it('is refused at its db.yaml line with the name meant, never "no differences"', async () => {
    const r = await run(w.root, 'diff', { project: 'm', env: 'dev', againstEnv: 'qa', cache: false }, vars);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('no differences');
    expect(r.stderr).toContain('m/db.yaml:5');
    expect(r.stderr).toContain('schema myschema of project m is on neither dev nor qa');
    expect(r.stderr).toContain('the nearest existing name: MySchema');
    expect(r.stderr).toContain(`schemas: ['"MySchema"']`);
  });

  it('quoted, the schema is compared; default privileges without IN SCHEMA are named', async () => {
    w.write('m/db.yaml', 'version: 1\nname: m\nengine: postgres\nschemas:\n  - \'"MySchema"\'\n');
    w.write('m/t.sql', 'CREATE SCHEMA "MySchema";\nCREATE TABLE "MySchema".t (id int);\n');
    await queryUrl(qa, 'ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT SELECT ON TABLES TO PUBLIC');
    const r = await run(w.root, 'diff', { project: 'm', env: 'dev', againstEnv: 'qa', cache: false }, vars);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('ADD COLUMN note text');
    expect(r.stdout).toContain('not compared: default privileges');
    expect(r.stdout).toContain('FOR ROLE postgres (in every schema) GRANT SELECT ON TABLES TO PUBLIC: only on qa');
  });
});
