import { describe, expect, it } from 'vitest';
import { formatKey, type ObjectKey } from '../model/object-key';
import { PLAN_FORMAT_VERSION, type Plan, type PlanStep } from '../plan/plan';
import { keysFor, templateKeys } from './package-keys';
import { keyName } from '../sources/key-name';
import type { ReleaseInfo } from './release';

function step(objectKey: ObjectKey, statements: string[], reverse: string[] | null = null): PlanStep {
  return {
    order: 1,
    project: 'p',
    key: formatKey(objectKey),
    objectKey,
    action: 'create',
    statements,
    reverse,
    transactional: true,
    hazards: [],
    source: null,
    checksum: 'c',
  };
}

function plan(...steps: PlanStep[]): Plan {
  return {
    formatVersion: PLAN_FORMAT_VERSION,
    engine: 'postgres',
    projects: ['p'],
    sourceCommit: null,
    baseFingerprint: null,
    steps,
  };
}

const release: ReleaseInfo = {
  target: 'p',
  base: null,
  head: { ref: null, commit: null },
  variables: { p: { names: ['a', 'b', 'env'] } },
  preconditions: [],
  dependsOn: {},
  smoke: {},
};

const built = (p: Plan, variables: Record<string, string>) =>
  templateKeys(p, release, { environment: 'dev', variables: new Map([['p', variables]]) });

describe('package keys: templates at build, names of the target at deploy', () => {
  it("names an identifier as the engine's rules do: PostgreSQL folds an unquoted name, keeps a quoted one", () => {
    expect(keyName('Dev_Sales')).toBe('dev_sales');
    expect(keyName('"Dev_Sales"')).toBe('Dev_Sales');
    expect(keyName('"a""b"')).toBe('a"b');
    expect(keyName('"Dev"', { unquoted: 'upper', quoted: 'upper' })).toBe('DEV');
  });

  it('keeps a quoted template quoted, and makes each target its own name from it', () => {
    const s = step(
      { kind: 'table', schema: 'Dev_Sales', name: 'orders' },
      ['CREATE TABLE "{{env}}_Sales".orders (id int)'],
      ['DROP TABLE "Dev_Sales".orders'],
    );
    const made = built(plan(s), { env: 'Dev' });
    expect(made.plan.steps[0]!.key).toBe('table:"{{env}}_Sales".orders');
    expect(made.plan.steps[0]!.reverse).toEqual(['DROP TABLE "{{env}}_Sales".orders']);
    const prod = keysFor(made.plan, new Map([['p', { env: 'Prod' }]])).steps[0]!;
    expect(prod.key).toBe('table:Prod_Sales.orders');
    expect(prod.reverse).toEqual(['DROP TABLE "Prod_Sales".orders']);
  });

  it("templates a routine's argument types of the project's schema, and its parent's names", () => {
    const f = step(
      { kind: 'function', schema: 'dev_s', name: 'f', args: ['dev_s.money_t', 'integer'] },
      ['CREATE FUNCTION {{env}}_s.f(m {{env}}_s.money_t, n integer) RETURNS int LANGUAGE sql AS $$SELECT n$$'],
      ['DROP FUNCTION dev_s.f(dev_s.money_t, integer)'],
    );
    const i = step({ kind: 'index', schema: 'dev_s', name: 'i', parent: 'dev_s.t' }, [
      'CREATE INDEX i ON {{env}}_s.t (a)',
    ]);
    const made = built(plan(f, i), { env: 'dev' });
    expect(made.plan.steps.map((s) => s.key)).toEqual([
      'function:{{env}}_s.f({{env}}_s.money_t,integer)',
      'index:{{env}}_s.i@{{env}}_s.t',
    ]);
    const prod = keysFor(made.plan, new Map([['p', { env: 'prod' }]])).steps;
    expect(prod.map((s) => s.key)).toEqual(['function:prod_s.f(prod_s.money_t,integer)', 'index:prod_s.i@prod_s.t']);
    expect(prod[0]!.reverse).toEqual(['DROP FUNCTION prod_s.f(prod_s.money_t, integer)']);
  });

  it('binds a name two templates make here but could make differently elsewhere, and one no identifier shows', () => {
    const ambiguous = step({ kind: 'table', schema: 'xy', name: 't' }, [
      'CREATE TABLE {{a}}{{b}}.t (id int)',
      'COMMENT ON TABLE {{env}}.t IS $$x$$',
    ]);
    const hidden = step({ kind: 'table', schema: 'dev', name: 'log' }, ['CREATE TABLE {{b}} (id int)']);
    const two = built(plan(ambiguous), { a: 'x', b: 'y', env: 'xy' });
    expect(two.plan.steps[0]!.key).toBe('table:xy.t');
    expect(two.release.variables.p!.boundKeys?.keys).toEqual(['table:xy.t']);
    const both = step({ kind: 'table', schema: 'dev', name: 't' }, [
      'CREATE TABLE dev.t (id int)',
      "COMMENT ON TABLE dev.t IS 'made on {{env}}'",
    ]);
    expect(built(plan(both), { env: 'dev' }).release.variables.p!.boundKeys?.keys).toEqual(['table:dev.t']);
    const none = built(plan(hidden), { b: 'dev.log' });
    expect(none.plan.steps[0]!.key).toBe('table:dev.log');
    expect(none.release.variables.p!.boundKeys).toMatchObject({ environment: 'dev', keys: ['table:dev.log'] });
  });

  it('leaves a name no value is part of, and an incremental package, as they are', () => {
    const s = step({ kind: 'table', schema: 'core', name: 't' }, [
      'CREATE TABLE core.t (id int, e text DEFAULT $${{env}}$$)',
    ]);
    expect(built(plan(s), { env: 'dev' }).plan.steps[0]).toBe(s);
    const t = step({ kind: 'table', schema: 'dev_s', name: 't' }, ['CREATE TABLE {{env}}_s.t (id int)']);
    const incremental = { ...release, base: { ref: 'v1', commit: 'c' } };
    const same = templateKeys(plan(t), incremental, {
      environment: 'dev',
      variables: new Map([['p', { env: 'dev' }]]),
    });
    expect(same.plan.steps[0]!.key).toBe('table:dev_s.t');
  });
});
