import { beforeAll, describe, expect, test } from 'vitest';
import { loadPostgresParser } from '../parse';
import { readBackForm } from './read-back-form';

beforeAll(() => loadPostgresParser());

describe('readBackForm', () => {
  test('an implicit coercion of an ARRAY constructor loses its printed cast', () => {
    expect(
      readBackForm(
        "CHECK (((v)::text = ANY ((ARRAY['a'::character varying, 'é'::character varying])::text[])))",
        'constraint',
        true,
      ),
    ).toBe("CHECK (((v)::text = ANY (ARRAY['a'::character varying, 'é'::character varying])))");
    expect(readBackForm('(x = ANY ((ARRAY[1, 2])::numeric[]))', 'expression', true)).toBe('(x = ANY (ARRAY[1, 2]))');
    expect(
      readBackForm(
        "CREATE INDEX i ON s.t USING btree (v) WHERE ((v)::text = ANY ((ARRAY['a'::character varying])::text[]))",
        'statement',
        true,
      ),
    ).toBe("CREATE INDEX i ON s.t USING btree (v) WHERE ((v)::text = ANY (ARRAY['a'::character varying]))");
  });

  test('a cast the stored tree says was explicit, or one with a type modifier, stays', () => {
    expect(readBackForm('(ARRAY[(1)::bigint])::integer[]', 'expression', false)).toBe(
      '(ARRAY[(1)::bigint])::integer[]',
    );
    expect(readBackForm("(ARRAY['a'::text])::character varying(3)[]", 'expression', true)).toBe(
      "(ARRAY['a'::text])::character varying(3)[]",
    );
  });

  test('an unnamed column of a later set-operation branch or of a subquery in an expression keeps its name', () => {
    const view = ` SELECT q.release,
    q.country
   FROM ( SELECT rc.release,
            rc.country
           FROM rt.rc
        UNION ALL
         SELECT ruc.release,
            NULL::integer
           FROM rt.ruc) q
  WHERE (EXISTS ( SELECT 'x'::text
           FROM rt.ruc ruc_1));`;
    expect(readBackForm(view, 'query', true)).toBe(
      view.replace('NULL::integer', 'NULL::integer AS "?column?"').replace("'x'::text", `'x'::text AS "?column?"`),
    );
    // A column reference, a named column and the first branch's columns are read back with the names they have.
    const named = ' SELECT 1 AS one, t.a FROM t UNION SELECT (2 + 3) AS one, t.b FROM t;';
    expect(readBackForm(named, 'query', true)).toBe(named);
  });

  test('both at once, and nested casts', () => {
    expect(
      readBackForm(
        " SELECT 1 AS a UNION SELECT (t.x = ANY ((ARRAY['a'::character varying])::text[]))::integer FROM t;",
        'query',
        true,
      ),
    ).toBe(` SELECT 1 AS a UNION SELECT (t.x = ANY (ARRAY['a'::character varying]))::integer AS "?column?" FROM t;`);
  });

  test('what does not parse is left as it is', () => {
    expect(readBackForm('SELECT (ARRAY[1])::int[] FROM', 'query', true)).toBe('SELECT (ARRAY[1])::int[] FROM');
  });
});
