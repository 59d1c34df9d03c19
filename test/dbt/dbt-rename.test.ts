import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedEnvironment } from '@dbee/core';
import { createPostgresEngine } from '@dbee/postgres';
import { scratchDatabase } from '../support/pg';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';
import { buildManifest } from './manifest-builder';

/**
 * Issue 71: a table renamed by hand, as a team does it: its source file renamed (`stages.sql` → `pipeline_stages.sql`,
 * the table's new name inside) and a migration `ALTER TABLE ... RENAME TO`. The plan creates the new table from the
 * file, then the migration fails on the copy (`relation "pipeline_stages" already exists`): before, the dry run
 * excused it ("not refused: the copy holds no rows"), and `dbee check --dbt` passed with 0 nodes while a model read the
 * old name. Now the step fails the check, and the model that reads the old name is named. The project owns `public`.
 * The check reads the target without the deployment lock: a deployment holding it does not make the check wait.
 */
const WS = `version: 1
defaultEnvironment: local
environments:
  local:
    engine: postgres
    connection: { embedded: .dbee/local }
  server:
    engine: postgres
    connection: { url: "\${DBT_TEST_URL}" }
`;
const FILES = {
  'dbee.yaml': WS,
  'crm/db.yaml': 'version: 1\nname: crm\nengine: postgres\nschemas: [public]\n',
  'crm/stages.sql': 'CREATE TABLE public.stages (id integer PRIMARY KEY, name text NOT NULL);\n',
  'crm/deals.sql': 'CREATE TABLE public.deals (id integer PRIMARY KEY, stage_id integer, amount numeric);\n',
  'analytics/target/manifest.json': JSON.stringify(
    buildManifest(
      [
        { name: 'stage_names', compiled: 'select id, name from public.stages', sources: ['crm.stages'] },
        { name: 'deal_totals', compiled: 'select stage_id, sum(amount) as total from public.deals group by 1' },
      ],
      [{ source: 'crm', table: 'stages', schema: 'public' }],
    ),
  ),
};

interface DbtJson {
  nodes: { name: string; verdict: string; findings: { message: string }[] }[];
}

describe.each([{ env: 'server' }, { env: 'local' }])(
  'dbee check --dbt of a rename by a migration on $env',
  ({ env }) => {
    const w = tempWorkspace(FILES);
    let vars: Record<string, string> = {};
    let url = '';
    let drop = async () => {};
    beforeAll(async () => {
      if (env === 'server') {
        const db = await scratchDatabase('dbee_dbt_rename');
        vars = { DBT_TEST_URL: db.url };
        url = db.url;
        drop = db.drop;
      }
      const deployed = await run(w.root, 'deploy', { project: 'crm', env }, vars);
      expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
      rmSync(join(w.root, 'crm/stages.sql'));
      w.write(
        'crm/pipeline_stages.sql',
        'CREATE TABLE public.pipeline_stages (id integer PRIMARY KEY, name text NOT NULL);\n',
      );
      w.write('crm/migrations/V1__rename_stages.sql', 'ALTER TABLE public.stages RENAME TO pipeline_stages;\n');
      w.write(
        'crm/migrations/V1__rename_stages.rollback.sql',
        'ALTER TABLE public.pipeline_stages RENAME TO stages;\n',
      );
    });
    afterAll(async () => {
      await drop();
      w.remove();
    });

    it('the dry run refuses the step that fails on the copy (already exists is never excused)', async () => {
      const r = await run(w.root, 'deploy', { project: 'crm', env, dryRun: true }, vars);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toContain(
        'crm/migrations/V1__rename_stages.sql:1: step 2 (migrate migration:crm/V1) fails on a copy of the target\'s schemas: relation "pipeline_stages" already exists',
      );
      expect(r.stdout + r.stderr).not.toContain('not refused');
    });

    it('check --dbt exits 1 naming the model that reads the old name; the model reading nothing renamed is not named', async () => {
      const r = await run(
        w.root,
        'check',
        { project: 'crm', env, dbt: 'analytics/target/manifest.json', format: 'json' },
        vars,
      );
      expect(r.code, r.stderr).toBe(1);
      const report = JSON.parse(r.stdout) as DbtJson;
      const model = report.nodes.find((n) => n.name === 'stage_names');
      expect(model?.verdict, JSON.stringify(report)).toBe('breaking');
      expect(model?.findings.map((f) => f.message).join('\n')).toContain(
        'reads source crm.stages (public.stages): step 2 (migrate migration:crm/V1) acts on it and fails on the copy: relation "pipeline_stages" already exists',
      );
      expect(report.nodes.find((n) => n.name === 'deal_totals')).toBeUndefined();
    });
  },
);

describe('dbee check against a server where a deployment holds the lock', () => {
  const w = tempWorkspace(FILES);
  let vars: Record<string, string> = {};
  let url = '';
  let drop = async () => {};
  beforeAll(async () => {
    const db = await scratchDatabase('dbee_dbt_lock');
    vars = { DBT_TEST_URL: db.url };
    url = db.url;
    drop = db.drop;
    const deployed = await run(w.root, 'deploy', { project: 'crm', env: 'server' }, vars);
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
    w.write('crm/stages.sql', 'CREATE TABLE public.stages (id integer PRIMARY KEY, name text NOT NULL, note text);\n');
  });
  afterAll(async () => {
    await drop();
    w.remove();
  });

  it('reads the target without the deployment lock: it neither waits for the deployment nor fails', async () => {
    const environment = { name: 'server', connection: { url } } as unknown as ResolvedEnvironment;
    const held = await createPostgresEngine().lock(environment, { workspaceRoot: w.root }, 'deploy', {
      timeoutMs: 5_000,
      owner: { user: 'someone', host: 'elsewhere', pid: 1, since: new Date().toISOString() },
    });
    try {
      // A check that waited for the lock would give up after 1 s (exit 1, "deployment lock").
      const r = await run(
        w.root,
        'check',
        { project: 'crm', env: 'server', dbt: 'analytics/target/manifest.json', format: 'json', waitForLock: 1 },
        vars,
      );
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as DbtJson;
      expect(report.nodes.find((n) => n.name === 'stage_names')?.verdict).toBe('pass');
    } finally {
      await held.release();
    }
  });
});
