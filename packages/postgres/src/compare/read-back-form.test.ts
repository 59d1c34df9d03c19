import { beforeAll, describe, expect, test } from 'vitest';
import { loadPostgresParser } from '../parse';
import { mayBeRewritten, readBackForm } from './read-back-form';

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

describe('mayBeRewritten', () => {
  test('a plain query is read back as printed, without a parse', () => {
    const plain = ` SELECT t.id,
    t.name
   FROM (s.t
     JOIN s.u ON ((u.id = t.id)))
  WHERE (t.active AND (t.kind = 'select'::text));`;
    expect(mayBeRewritten(plain, true)).toBe(false);
    expect(readBackForm(plain, 'query', true)).toBe(plain);
    // An array constructor whose cast the stored tree says was explicit is never edited.
    expect(mayBeRewritten('(ARRAY[(1)::bigint])::integer[]', false)).toBe(false);
  });

  test('every text an edit can apply to is parsed', () => {
    for (const text of [
      "((v)::text = ANY ((ARRAY['a'::character varying])::text[]))",
      ' SELECT 1 AS a UNION ALL SELECT NULL::integer;',
      ' SELECT 1 AS a INTERSECT SELECT 2;',
      ' SELECT 1 AS a EXCEPT SELECT 2;',
      " SELECT t.a FROM t WHERE (EXISTS ( SELECT 'x'::text FROM u));",
      ' SELECT ARRAY( SELECT 1 FROM u) AS a;',
      ' SELECT t.a FROM t WHERE (t.a IN ( WITH w AS ( SELECT 1 AS x) SELECT w.x FROM w));',
      '(EXISTS (SELECT 1 FROM u WHERE (u.owner = CURRENT_USER)))',
    ])
      expect(mayBeRewritten(text, true), text).toBe(true);
  });
});
