import type { Connection, ObjectKey } from '@dbee/core';
import { describe, expect, it } from 'vitest';
import { postgresSmoke } from '../../packages/postgres/src/smoke/postgres-smoke';
import { catalogConnections, withSchema } from './catalog-connections';

/**
 * The smoke baseline's existence check finds a routine exactly when `to_regprocedure` of its signature finds one of its
 * kind (the check as it was), whatever the spelling of its argument types and the search path, and fails with the same
 * error where `to_regprocedure` does (a type that does not exist, on a server before PostgreSQL 16); on the server and
 * on PGlite.
 */
const SCHEMA = `
CREATE SCHEMA s;
CREATE SCHEMA hidden;
CREATE TYPE hidden.ht AS (a int);
CREATE TYPE s."we,ird" AS (a int);
CREATE DOMAIN s.d AS int;
CREATE FUNCTION s.f() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE FUNCTION s.f(integer) RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE FUNCTION s.f(integer, numeric) RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE FUNCTION s.g(character varying, timestamp without time zone, integer[], "char", double precision, s.d) RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE FUNCTION s.h(hidden.ht) RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE FUNCTION s.q(s."we,ird", hidden.ht[]) RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE FUNCTION s.v(VARIADIC integer[]) RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE FUNCTION s."Mixed Case"(text) RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE FUNCTION s.w(integer) RETURNS SETOF int LANGUAGE sql WINDOW AS 'SELECT 1';
CREATE PROCEDURE s.p(integer, INOUT r int) LANGUAGE sql AS 'SELECT 1';
CREATE AGGREGATE s.agg(integer) (sfunc = int4pl, stype = integer);
`;

const KIND = { function: `IN ('f', 'w')`, procedure: `= 'p'`, aggregate: `= 'a'` } as const;
type RoutineKind = keyof typeof KIND;

/** Routine keys: each routine of schema `s` as the catalog prints it under the current search path, under each kind. */
async function printedKeys(conn: Connection): Promise<ObjectKey[]> {
  const r = await conn.query<{ name: string; args: string }>(
    `SELECT p.proname AS name, oidvectortypes(p.proargtypes) AS args FROM pg_proc p
      WHERE p.pronamespace = 's'::regnamespace ORDER BY 1, 2`,
  );
  return r.rows.flatMap((row) =>
    (Object.keys(KIND) as RoutineKind[]).map((kind) => ({
      kind,
      schema: 's',
      name: row.name,
      args: row.args === '' ? [] : splitPrinted(row.args),
    })),
  );
}
/** `integer, "we,ird"` → `['integer', '"we,ird"']`. */
function splitPrinted(args: string): string[] {
  return args.match(/("[^"]*"|[^,"])+/g)!.map((a) => a.trim());
}

/** Keys spelled otherwise, or of routines, schemas or types that do not exist. */
const OTHER_SPELLINGS: ObjectKey[] = [
  { kind: 'function', schema: 's', name: 'f', args: ['int'] },
  { kind: 'function', schema: 's', name: 'f', args: ['int4', 'numeric(10,2)'] },
  { kind: 'function', schema: 's', name: 'f', args: ['text'] },
  { kind: 'function', schema: 's', name: 'g', args: ['varchar', 'timestamp', 'int[]', '"char"', 'float8', 's.d'] },
  { kind: 'function', schema: 's', name: 'g', args: ['varchar', 'timestamp', 'int[]', '"char"', 'float8', 'integer'] },
  { kind: 'function', schema: 's', name: 'h', args: ['hidden.ht'] },
  { kind: 'function', schema: 's', name: 'q', args: ['s."we,ird"', 'hidden.ht[]'] },
  { kind: 'function', schema: 's', name: 'v', args: ['int[]'] },
  { kind: 'function', schema: 's', name: 'Mixed Case', args: ['text'] },
  { kind: 'function', schema: 's', name: 'mixed case', args: ['text'] },
  { kind: 'procedure', schema: 's', name: 'p', args: ['int', 'int'] },
  { kind: 'procedure', schema: 's', name: 'p', args: ['integer'] },
  { kind: 'aggregate', schema: 's', name: 'agg', args: ['int'] },
  { kind: 'function', schema: 'nosuch', name: 'f', args: ['integer'] },
  { kind: 'function', schema: 's', name: 'nosuch', args: [] },
];

/** The check as it was: `to_regprocedure` of the signature, one key at a time. */
async function missingBefore(conn: Connection, keys: ObjectKey[]): Promise<ObjectKey[]> {
  const missing: ObjectKey[] = [];
  for (const k of keys) {
    const sig = `"${k.schema.replace(/"/g, '""')}"."${k.name.replace(/"/g, '""')}"(${(k.args ?? []).join(', ')})`;
    const r = await conn.query<{ found: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_proc WHERE oid = to_regprocedure($1) AND prokind ${KIND[k.kind as RoutineKind]}) AS found`,
      [sig],
    );
    if (!r.rows[0]!.found) missing.push(k);
  }
  return missing;
}

const TRANSPORTS = catalogConnections('dbee_smokedeps');

/** What a check says of `keys`: the missing ones, or its error's first line. */
const outcome = (p: Promise<ObjectKey[]>) =>
  p.then(
    (missing) => missing.map((k) => `${k.kind} ${k.name}(${k.args})`),
    (e: Error) => `error: ${e.message.split('\n')[0]}`,
  );

describe.each(TRANSPORTS)('the existence check of routines [%s]', (_name, open) => {
  const opened = withSchema(open, SCHEMA);

  it('answers as to_regprocedure does, under the default search path and under the routines schema', async () => {
    const conn = opened();
    const printedByDefault = await printedKeys(conn);
    await conn.execute('SET search_path TO s');
    try {
      const printedInS = await printedKeys(conn);
      expect(printedInS).not.toEqual(printedByDefault);
      const keys = [...printedByDefault, ...printedInS, ...OTHER_SPELLINGS];
      for (const path of ['s', 'DEFAULT']) {
        await conn.execute(`SET search_path TO ${path}`);
        for (const key of [...keys, { kind: 'function', schema: 's', name: 'f', args: ['s.nosuch'] } as ObjectKey]) {
          const what = `${JSON.stringify(key)} under search_path ${path}`;
          expect(await outcome(postgresSmoke.missingObjects(conn, [key])), what).toEqual(
            await outcome(missingBefore(conn, [key])),
          );
        }
        const printedHere = path === 's' ? printedInS : printedByDefault;
        const batch = [...printedHere, ...OTHER_SPELLINGS];
        const missing = await outcome(postgresSmoke.missingObjects(conn, batch));
        expect(missing).toEqual(await outcome(missingBefore(conn, batch)));
        // Each of the 11 routines is found under its kind as printed here, and some spelled otherwise.
        expect(batch.length - missing.length, `search_path ${path}`).toBeGreaterThanOrEqual(11 + 6);
      }
    } finally {
      await conn.execute('RESET search_path');
    }
  });
});
