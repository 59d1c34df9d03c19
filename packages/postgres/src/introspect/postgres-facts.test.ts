import { describe, expect, test } from 'vitest';
import { typeChangeEffect, type Column } from '@dbee/core/schema';
import { postgresFacts } from './postgres-facts';

const col = (name: string, type: string): Column => ({
  name,
  type,
  default: null,
  identity: null,
  generated: null,
  collation: null,
  notNull: false,
  position: 1,
  dependsOn: [],
  attrs: {},
});

// PostgreSQL's type rules, as core's hazard analyzer applies them (moved here from core with the rules).
describe('typeChangeEffect', () => {
  const cases: [string, string, boolean, boolean][] = [
    // from, to, rewrites, loses data
    ['character varying(10)', 'character varying(20)', false, false],
    ['character varying(20)', 'character varying(10)', true, true],
    ['character varying(10)', 'text', false, false],
    ['character varying(10)', 'character varying', false, false],
    ['text', 'character varying', false, false],
    ['text', 'character varying(10)', true, true],
    ['integer', 'bigint', true, false],
    ['bigint', 'integer', true, true],
    ['smallint', 'integer', true, false],
    ['integer', 'numeric(12,2)', true, false],
    ['bigint', 'numeric(10,0)', true, true],
    ['numeric(10,2)', 'numeric(12,2)', false, false],
    ['numeric(12,2)', 'numeric(10,2)', true, true],
    ['numeric(10,2)', 'numeric(10,1)', true, true],
    ['numeric(10,2)', 'numeric', false, false],
    ['numeric', 'integer', true, true],
    ['real', 'double precision', true, false],
    ['double precision', 'real', true, true],
    ['integer', 'text', true, false],
    ['timestamp without time zone', 'timestamp with time zone', true, false],
    ['timestamp(3) without time zone', 'timestamp without time zone', false, false],
    ['timestamp without time zone', 'timestamp(0) without time zone', true, true],
    ['text', 'integer', true, true],
    ['integer[]', 'bigint', true, true],
  ];
  test.each(cases)('%s -> %s: rewrite %s, data loss %s', (from, to, rewrite, loss) => {
    const effect = typeChangeEffect(col('c', from), col('c', to), postgresFacts);
    expect(effect.rewrite).toBe(rewrite);
    expect(effect.loss !== null).toBe(loss);
  });
});

describe('postgresFacts', () => {
  test('names the volatile built-ins, the type spellings and the sequence function core is given', () => {
    expect(postgresFacts.volatileFunctions.has('gen_random_uuid')).toBe(true);
    expect(postgresFacts.volatileFunctions.has('now')).toBe(false);
    expect(postgresFacts.typeAliases['int4']).toBe('integer');
    expect(postgresFacts.sequenceFunction).toBe('nextval');
  });
});
