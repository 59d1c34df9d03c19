/**
 * Every schema review rule (docs/policies.md) on its own examples: the SQL it forbids and the SQL it allows, run on a
 * real PostgreSQL (embedded PGlite, as dbee's shadow) in a schema of their own, read back with dbee's introspection
 * and judged as `dbee check --policies` judges a project. Each rule fires on what it forbids and stays quiet on what it
 * allows; a rule whose check is broken (fires on nothing, or on everything) fails here by name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupObjects, type Engine, type SourceStatement } from '@dbee/core';
import { createPostgresEngine } from '@dbee/postgres';
import {
  POLICY_RULES,
  PolicySubject,
  judgePolicies,
  type AnyPolicyRule,
  type PolicySettings,
} from '../../packages/core/src/policies';
import type { PgliteConnection } from '../../packages/postgres/src/connection/pglite-connection';
import { openMemoryPglite } from '../support/pglite';

let engine: Engine;
let conn: PgliteConnection;
let n = 0;

beforeAll(async () => {
  engine = createPostgresEngine();
  conn = await openMemoryPglite('policy rules');
});
afterAll(async () => {
  await conn?.close();
});

/** The findings of `rule` alone (at level error, with its example's parameters) over `sql` in a schema of its own. */
async function findings(rule: AnyPolicyRule, sql: string, opts: { migration?: boolean; rollback?: boolean } = {}) {
  const schema = `p${++n}`;
  const text = sql.replaceAll('app.', `${schema}.`);
  await conn.execute(`CREATE SCHEMA ${schema}`);
  const statements = (await engine.parser.parse(text, `db/${schema}.sql`, {
    searchPath: [schema],
  })) as SourceStatement[];
  for (const s of statements) s.template = s.sql;
  const migrations = opts.migration
    ? [
        {
          file: `db/migrations/V1__${schema}.sql`,
          statements: statements.map((s) => ({ sql: s.sql, location: s.location })),
          hasRollback: opts.rollback ?? false,
        },
      ]
    : [];
  if (!opts.migration) await conn.execute(text);
  const model = await engine.diff!.introspect(conn, { schemas: [schema] });
  const objects = opts.migration ? [] : groupObjects('p', [{ path: `db/${schema}.sql`, statements }]);
  const settings: PolicySettings = {
    configured: true,
    rules: POLICY_RULES.map((r) => ({
      rule: r,
      level: r === rule ? 'error' : 'off',
      // The example's parameters name its schema `app`, here the schema of its own.
      params: (r.params as { parse(v: unknown): Record<string, unknown> }).parse(
        r === rule ? JSON.parse(JSON.stringify(rule.examples.params ?? {}).replaceAll('"app"', `"${schema}"`)) : {},
      ),
      from: 'test',
    })),
  };
  return judgePolicies(new PolicySubject(model, objects, migrations, 'all'), settings, []).findings;
}

describe('schema review rules [pglite]', () => {
  it('the catalogue has at least 40 rules, each named once, documented, in a category', () => {
    expect(POLICY_RULES.length).toBeGreaterThanOrEqual(40);
    expect(new Set(POLICY_RULES.map((r) => r.name)).size).toBe(POLICY_RULES.length);
    for (const r of POLICY_RULES) {
      expect(r.name).toMatch(/^[a-z][a-z-]+$/);
      expect(r.summary.length, r.name).toBeGreaterThan(10);
      expect(r.why.length, r.name).toBeGreaterThan(10);
    }
  });

  it.each(POLICY_RULES.map((r) => [r.name, r] as const))(
    '%s fires on what it forbids, not on what it allows',
    async (_name, rule) => {
      const { migration } = rule.examples;
      const forbidden = await findings(rule, rule.examples.forbid, { migration });
      expect(forbidden.length, `${rule.name} on:\n${rule.examples.forbid}`).toBeGreaterThan(0);
      for (const f of forbidden) {
        expect(f.rule).toBe(rule.name);
        expect(f.level).toBe('error');
        // Every finding points into the sources: the file of the example, at a line of it.
        expect(f.location?.file).toMatch(/^db\//);
        expect(f.location?.line).toBeGreaterThanOrEqual(1);
      }
      const allowed = await findings(rule, rule.examples.allow, { migration, rollback: true });
      expect(allowed, `${rule.name} on:\n${rule.examples.allow}`).toEqual([]);
    },
  );
});

describe('where a finding points [pglite]', () => {
  it('an index or constraint defined in a file of its own: at its line there, not line 1 of the table file', async () => {
    const schema = `p${++n}`;
    const files = {
      [`db/${schema}/tables/t.sql`]: `-- the table\nCREATE TABLE ${schema}.t (id bigint PRIMARY KEY, a int, b int);\n`,
      [`db/${schema}/indexes/t.sql`]: `-- indexes of t\n\nCREATE INDEX t_a_b ON ${schema}.t (a, b);\n-- a prefix of t_a_b\nCREATE INDEX t_a ON ${schema}.t (a);\n`,
    };
    await conn.execute(`CREATE SCHEMA ${schema}`);
    const parsed = [];
    for (const [path, text] of Object.entries(files)) {
      const statements = (await engine.parser.parse(text, path, { searchPath: [schema] })) as SourceStatement[];
      for (const s of statements) s.template = s.sql;
      parsed.push({ path, statements });
      await conn.execute(text);
    }
    const model = await engine.diff!.introspect(conn, { schemas: [schema] });
    const rule = POLICY_RULES.find((r) => r.name === 'index-duplicate')!;
    const settings: PolicySettings = {
      configured: true,
      rules: POLICY_RULES.map((r) => ({
        rule: r,
        level: r === rule ? 'error' : 'off',
        params: (r.params as { parse(v: unknown): Record<string, unknown> }).parse({}),
        from: 'test',
      })),
    };
    const found = judgePolicies(new PolicySubject(model, groupObjects('p', parsed), [], 'all'), settings, []).findings;
    expect(found.map((f) => [f.rule, f.location])).toEqual([
      ['index-duplicate', { file: `db/${schema}/indexes/t.sql`, line: 5, column: 14 }],
    ]);
  });
});
