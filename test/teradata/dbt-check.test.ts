import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { buildManifest } from '../dbt/manifest-builder';
import { teradataWorkspace, type TeradataWorkspace } from './helpers';

/**
 * `dbee check --dbt` on Teradata (the test double of packages/teradata/testing): no scratch copy and no query parser,
 * so the check is at the object level, from the manifest's `depends_on` and `relation_name` (dbt-teradata writes
 * `"<database>"."<table>"`), and says that the column level is not available. A model over a table the release alters
 * cannot be judged (unknown: a warning, or a refusal with `check.dbt.unknown: fail`); one over an untouched table is
 * not listed.
 */
const NOW = new Date(Date.UTC(2026, 10, 21, 10, 30, 0));
const CUSTOMERS = 'schema/edw/tables/customers.sql';
let w: TeradataWorkspace;
afterEach(() => w?.dispose());

describe('dbee check --dbt on Teradata (object level)', () => {
  it('lists the model over an altered table as unknown, says why, and fails it with check.dbt.unknown: fail', async () => {
    w = teradataWorkspace();
    expect((await w.dbee('deploy', { assumeYes: true, now: NOW })).code).toBe(0);
    const manifest = buildManifest(
      [
        {
          name: 'stg_customers',
          compiled: 'select customer_id, segment from "DEV_EDW"."customers"',
          sources: ['edw.customers'],
        },
        { name: 'stg_orders', compiled: 'select order_id from "DEV_EDW"."orders"', sources: ['edw.orders'] },
      ],
      [
        { source: 'edw', table: 'customers', schema: 'DEV_EDW' },
        { source: 'edw', table: 'orders', schema: 'DEV_EDW' },
      ],
    ) as { sources: Record<string, { relation_name: string }> };
    // dbt-teradata names a relation by database and table only.
    for (const s of Object.values(manifest.sources)) s.relation_name = s.relation_name.replace('"warehouse".', '');
    w.write('manifest.json', JSON.stringify(manifest));
    w.write(
      CUSTOMERS,
      readFileSync(join(w.root, CUSTOMERS), 'utf8').replace(
        'created_at    TIMESTAMP(0) NOT NULL',
        "created_at    TIMESTAMP(0) NOT NULL,\n  region        CHAR(2) DEFAULT 'EU'",
      ),
    );
    const check = (extra: Record<string, unknown> = {}) =>
      run(
        w.root,
        'check',
        { project: 'edw', env: 'td-dev', dbt: 'manifest.json', now: NOW, ...extra },
        { TD_PASSWORD: 'td-test-secret' },
      );
    const r = await check();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('UNKNOWN model stg_customers (models/stg_customers.sql)');
    expect(r.stdout).toContain(
      'reads source edw.customers (DEV_EDW.CUSTOMERS), which the release changes; the column level is not available (step 1 alter table:DEV_EDW.CUSTOMERS)',
    );
    expect(r.stdout).not.toContain('stg_orders');
    expect(r.stdout).toContain(
      'note: the teradata engine has no parser for the columns a query reads, so the column level is not available',
    );
    expect(r.stderr).toContain('1 dbt node reads what the release changes and cannot be judged');
    w.write('db.yaml', `${readFileSync(join(w.root, 'db.yaml'), 'utf8')}check:\n  dbt: { unknown: fail }\n`);
    const strict = await check({ format: 'json' });
    expect(strict.code).toBe(1);
    expect(JSON.parse(strict.stdout)).toMatchObject({
      level: 'object',
      nodes: [{ name: 'stg_customers', verdict: 'unknown' }],
    });
  });
});
