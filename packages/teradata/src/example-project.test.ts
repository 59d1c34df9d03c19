import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  formatKey,
  loadProject,
  PLAN_FORMAT_VERSION,
  type ParsedStatement,
  type Plan,
  type PlanStep,
} from '@dbee/core';
import { describe, expect, it } from 'vitest';
import { toBteq } from './bteq/bteq';
import { expandPlaceholders } from './parse/placeholders';
import { prepareTeradataPlan } from './catalog/teradata-deploy';
import { parseTeradata } from './parse/teradata-parser';
import { createFakeConnection, FakeTeradataSession } from '../testing/fake-connection';

const REPO = join(__dirname, '..', '..', '..');
const PROJECT = join(REPO, 'examples', 'teradata');

function sqlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? sqlFiles(join(dir, e.name)) : e.name.endsWith('.sql') ? [join(dir, e.name)] : [],
    )
    .sort();
}

/** Parse the example the way core does: placeholders expanded first, then the engine's parser. */
function parseExample(env: string): { file: string; statements: ParsedStatement[] }[] {
  return sqlFiles(PROJECT).map((path) => {
    const file = relative(REPO, path).split('\\').join('/');
    const text = expandPlaceholders(readFileSync(path, 'utf8'), { env });
    return { file, statements: parseTeradata(text, file, { searchPath: [`${env}_EDW`] }) };
  });
}

describe('examples/teradata', () => {
  it('has a valid db.yaml', () => {
    const p = loadProject(REPO, 'examples/teradata/db.yaml');
    expect(p.config).toMatchObject({ name: 'edw', engine: 'teradata', schemas: ['{{env}}_EDW'] });
  });

  it('parses every object file into the objects it defines, with their references', () => {
    const out = parseExample('dev').map(({ file, statements }) => ({
      file: file.replace('examples/teradata/schema/edw/', ''),
      statements: statements.map(
        (s) =>
          `${s.action} ${s.key ? formatKey(s.key) : '-'} <- ${s.references.map((r) => `${r.schema}.${r.name}`).join(', ')}`,
      ),
    }));
    expect(out).toEqual([
      {
        file: 'join_indexes/ji_orders_by_customer.sql',
        statements: ['create join-index:DEV_EDW.JI_ORDERS_BY_CUSTOMER <- DEV_EDW.ORDERS, DEV_EDW.CUSTOMERS'],
      },
      {
        file: 'macros/purge_cancelled.sql',
        statements: ['create-or-replace macro:DEV_EDW.PURGE_CANCELLED <- DEV_EDW.ORDERS'],
      },
      {
        file: 'procedures/load_orders.sql',
        statements: ['create-or-replace procedure:DEV_EDW.LOAD_ORDERS <- DEV_EDW.ORDERS, DEV_EDW.STAGE_ORDERS'],
      },
      {
        file: 'tables/customers.sql',
        statements: ['create table:DEV_EDW.CUSTOMERS <- ', 'comment table:DEV_EDW.CUSTOMERS <- '],
      },
      { file: 'tables/orders.sql', statements: ['create table:DEV_EDW.ORDERS <- ', 'other table:DEV_EDW.ORDERS <- '] },
      { file: 'tables/stage_orders.sql', statements: ['create table:DEV_EDW.STAGE_ORDERS <- '] },
      {
        file: 'views/v_customer_orders.sql',
        statements: ['create-or-replace view:DEV_EDW.V_CUSTOMER_ORDERS <- DEV_EDW.ORDERS, DEV_EDW.CUSTOMERS'],
      },
    ]);
  });

  it('deploys on a fresh database (fake) and exports to BTEQ with the procedure inline', async () => {
    const parsed = parseExample('DEV');
    const byKey = new Map<string, { statements: string[]; key: ParsedStatement['key'] }>();
    for (const { statements } of parsed) {
      for (const s of statements) {
        const k = formatKey(s.key!);
        const entry = byKey.get(k) ?? { statements: [], key: s.key };
        entry.statements.push(s.sql);
        byKey.set(k, entry);
      }
    }
    // Dependency order, as the planner would find it from the references.
    const order = [
      'table:DEV_EDW.CUSTOMERS',
      'table:DEV_EDW.ORDERS',
      'table:DEV_EDW.STAGE_ORDERS',
      'view:DEV_EDW.V_CUSTOMER_ORDERS',
      'macro:DEV_EDW.PURGE_CANCELLED',
      'procedure:DEV_EDW.LOAD_ORDERS',
      'join-index:DEV_EDW.JI_ORDERS_BY_CUSTOMER',
    ];
    const steps: PlanStep[] = order.map((k, i) => ({
      order: i + 1,
      project: 'edw',
      key: k,
      objectKey: byKey.get(k)!.key!,
      action: 'create',
      statements: byKey.get(k)!.statements,
      reverse: null,
      transactional: true,
      hazards: [],
      source: null,
      checksum: 'x',
    }));
    const plan: Plan = {
      formatVersion: PLAN_FORMAT_VERSION,
      engine: 'teradata',
      projects: ['edw'],
      sourceCommit: null,
      baseFingerprint: null,
      steps,
    };
    const session = new FakeTeradataSession({ databases: ['DEV_EDW'] });
    const conn = createFakeConnection(session);
    const { plan: prepared } = await prepareTeradataPlan(conn, plan, { ifExists: 'rename', copyData: true });
    for (const s of prepared.steps) for (const sql of s.statements) await conn.execute(sql);
    expect([...session.catalog.keys()].sort()).toEqual(order.map((k) => k.split(':')[1]).sort());
    expect(prepared.steps.map((s) => s.reverse)).toEqual(
      order.map((k) => [
        `DROP ${k.startsWith('join-index') ? 'JOIN INDEX' : k.split(':')[0]!.toUpperCase()} ${k.split(':')[1]}`,
      ]),
    );

    const script = await toBteq(prepared, { ledger: false, logonFile: 'logon.btq' });
    expect(script).toContain(
      'REPLACE PROCEDURE DEV_EDW.load_orders (IN load_date DATE, OUT loaded INTEGER)\nBEGIN\n  DECLARE d DATE; --\n',
    );
    expect(script).toContain('  SET loaded = n; --\nEND;\n.IF ERRORCODE <> 0 THEN .QUIT 22\n');
    expect(script).toContain(
      "  SELECT COUNT(*) AS remaining FROM DEV_EDW.orders WHERE status = 'X'; --\n);\n.IF ERRORCODE <> 0 THEN .QUIT 21",
    );
  });
});
