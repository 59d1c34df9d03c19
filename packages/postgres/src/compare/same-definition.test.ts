import { beforeAll, describe, expect, it } from 'vitest';
import { loadPostgresParser } from '../parse';
import { sameDefinition } from './same-definition';

const sameViewDefinition = (a: string, b: string) => sameDefinition(a, b, 'query');

beforeAll(() => loadPostgresParser());

describe('sameViewDefinition', () => {
  it('treats PostgreSQL 15 and 18 printings of a single-relation view as the same', () => {
    expect(sameViewDefinition(' SELECT t.id,\n    t.qty\n   FROM a.t;', ' SELECT id,\n    qty\n   FROM a.t;')).toBe(
      true,
    );
    expect(
      sameViewDefinition(
        ' SELECT c.id\n   FROM core.customers c\n  WHERE c.status = 1;',
        ' SELECT id\n   FROM core.customers c\n  WHERE status = 1;',
      ),
    ).toBe(true);
  });

  it('drops the qualifier of a lone subquery in FROM too, as PostgreSQL 16 and later print it (issue 88)', () => {
    // A UNION view over a subquery with an unaliased NULL, as PostgreSQL 15 prints it and as the embedded scratch
    // database (a later major version) prints the same view built from that text: diff reported it changed.
    const pg15 =
      ' SELECT q.id,\n    q."?column?"\n   FROM ( SELECT t.id,\n            NULL::character varying AS "?column?"\n           FROM s.t\n        UNION ALL\n         SELECT t.id,\n            t.vc\n           FROM s.t) q;';
    const later =
      ' SELECT id,\n    "?column?"\n   FROM ( SELECT t.id,\n            NULL::character varying AS "?column?"\n           FROM s.t\n        UNION ALL\n         SELECT t.id,\n            t.vc\n           FROM s.t) q;';
    expect(sameViewDefinition(pg15, later)).toBe(true);
    expect(
      sameViewDefinition(
        " SELECT x.id\n   FROM ( SELECT t.id,\n            NULL::text AS z\n           FROM s.t\n        UNION\n         SELECT 1,\n            'x'::text) x;",
        ' SELECT id\n   FROM ( SELECT t.id,\n            NULL::text AS z\n           FROM s.t\n        UNION\n         SELECT 1 AS "?column?",\n            \'x\'::text AS "?column?") x;',
      ),
    ).toBe(true);
    expect(sameViewDefinition(pg15, later.replace('SELECT id,', 'SELECT vc,'))).toBe(false);
  });

  it('still sees real differences', () => {
    expect(sameViewDefinition(' SELECT t.id FROM a.t;', ' SELECT t.qty FROM a.t;')).toBe(false);
    expect(
      sameViewDefinition(" SELECT id FROM a.t WHERE status = 'x';", " SELECT id FROM a.t WHERE status = 'y';"),
    ).toBe(false);
    // Two relations: qualifiers carry meaning and are kept.
    expect(sameViewDefinition(' SELECT t.id FROM a.t, a.u;', ' SELECT u.id FROM a.t, a.u;')).toBe(false);
  });
});

describe('sameDefinition', () => {
  const IN_LIST = "((v)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[]))";
  const READ_BACK = "((v)::text = ANY (ARRAY[('a'::character varying)::text, ('b'::character varying)::text]))";

  it('reads a cast of an ARRAY constructor as the cast of each element, as PostgreSQL reads it back', () => {
    expect(sameDefinition(`CHECK (${IN_LIST})`, `CHECK (${READ_BACK})`, 'constraint')).toBe(true);
    expect(sameDefinition(IN_LIST, READ_BACK, 'expression')).toBe(true);
    expect(
      sameDefinition(
        `CREATE INDEX i ON a.t USING btree (v) WHERE ${IN_LIST}`,
        `CREATE INDEX i ON a.t USING btree (v) WHERE ${READ_BACK}`,
        'statement',
      ),
    ).toBe(true);
    expect(sameDefinition(IN_LIST, READ_BACK.replace("'b'", "'c'"), 'expression')).toBe(false);
    expect(
      sameDefinition(
        IN_LIST,
        READ_BACK.replace("('a'::character varying)::text", "('a'::character varying)::name"),
        'expression',
      ),
    ).toBe(false);
  });

  it('ignores the column names of a set operation branch after the first', () => {
    const union = (alias: string) =>
      ` SELECT q.release, q.country FROM ( SELECT rc.release, rc.country FROM a.rc UNION ALL SELECT ruc.release, NULL::character varying${alias} FROM a.ruc) q;`;
    expect(sameViewDefinition(union(''), union(' AS "varchar"'))).toBe(true);
    expect(sameViewDefinition(' SELECT 1 AS a UNION SELECT 2;', ' SELECT 1 AS b UNION SELECT 2;')).toBe(false);
  });

  it('compares expressions that differ only in layout, and refuses ones that do not parse', () => {
    expect(sameDefinition("'2020-01-01'::date", "('2020-01-01'::date)", 'expression')).toBe(true);
    expect(sameDefinition('now(', 'now(', 'expression')).toBe(true);
    expect(sameDefinition('now(', 'now( ', 'expression')).toBe(false);
  });
});
