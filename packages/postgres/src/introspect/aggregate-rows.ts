import { notExtensionMember } from './extension-member';

/* The plain aggregates of the catalog, as the scratch copy's introspection and extract read them. */

/** One plain aggregate of the catalog (`pg_aggregate`), its functions schema-qualified (but `pg_catalog`'s). */
export interface AggregateRow {
  /** `pg_proc.oid` (the scratch copy's model resolves dependencies by it). */
  oid?: unknown;
  /** `format_type` of each argument, as routines' keys write them. */
  arg_types?: string[];
  schema: string;
  name: string;
  /** `pg_get_function_identity_arguments`: `integer`, `text, text`. */
  args: string;
  sfunc: string;
  stype: string;
  sspace: number;
  finalfunc: string | null;
  finalextra: boolean;
  finalmodify: string;
  combinefunc: string | null;
  serialfunc: string | null;
  deserialfunc: string | null;
  msfunc: string | null;
  minvfunc: string | null;
  mstype: string | null;
  msspace: number;
  mfinalfunc: string | null;
  mfinalextra: boolean;
  mfinalmodify: string;
  minitcond: string | null;
  initcond: string | null;
  sortop: string | null;
  parallel: string;
  comment: string | null;
}

/** A function's name as a statement writes it: `schema.name`, or `name` alone for `pg_catalog`'s. */
const fn = (col: string) =>
  `(select case when fn.nspname = 'pg_catalog' then quote_ident(f.proname) else quote_ident(fn.nspname) || '.' || quote_ident(f.proname) end
    from pg_proc f join pg_namespace fn on fn.oid = f.pronamespace where f.oid = ${col} and ${col} <> 0)`;

/** The plain aggregates of `scope` (not an extension's; ordered-set ones stay `unwritten`). */
export const AGGREGATES_SQL = `select p.oid, n.nspname as schema, p.proname as name, pg_get_function_identity_arguments(p.oid) as args,
    array(select format_type(u.t, null) from unnest(p.proargtypes::oid[]) with ordinality u(t, ord) order by u.ord)::text[] as arg_types,
    ${fn('a.aggtransfn')} as sfunc, format_type(a.aggtranstype, null) as stype, a.aggtransspace as sspace,
    ${fn('a.aggfinalfn')} as finalfunc, a.aggfinalextra as finalextra, a.aggfinalmodify::text as finalmodify,
    ${fn('a.aggcombinefn')} as combinefunc, ${fn('a.aggserialfn')} as serialfunc, ${fn('a.aggdeserialfn')} as deserialfunc,
    ${fn('a.aggmtransfn')} as msfunc, ${fn('a.aggminvtransfn')} as minvfunc,
    case when a.aggmtranstype <> 0 then format_type(a.aggmtranstype, null) end as mstype, a.aggmtransspace as msspace,
    ${fn('a.aggmfinalfn')} as mfinalfunc, a.aggmfinalextra as mfinalextra, a.aggmfinalmodify::text as mfinalmodify,
    a.aggminitval as minitcond, a.agginitval as initcond,
    case when a.aggsortop <> 0 then (select o.oprname from pg_operator o where o.oid = a.aggsortop) end as sortop,
    p.proparallel::text as parallel, obj_description(p.oid, 'pg_proc') as comment
  from pg_aggregate a join pg_proc p on p.oid = a.aggfnoid join pg_namespace n on n.oid = p.pronamespace
  where a.aggkind = 'n' and n.nspname = any($1::text[])
    and ${notExtensionMember(`'pg_proc'::regclass`, 'p.oid')}
  order by 1, 2, 3`;

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;
const ident = (s: string) => (/^[a-z_][a-z0-9_$]*$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`);

/**
 * `CREATE AGGREGATE` of one catalog row, every option the row holds that is not PostgreSQL's default (the defaults of
 * `CREATE AGGREGATE`'s reference page: `FINALFUNC_MODIFY = READ_ONLY`, `PARALLEL UNSAFE`, no space estimate), so that
 * the aggregate made from it reads back as the same row.
 */
export function aggregateStatement(a: AggregateRow): string {
  const name = `${ident(a.schema)}.${ident(a.name)}(${a.args})`;
  const modify = (m: string) => ({ r: 'READ_ONLY', s: 'SHAREABLE', w: 'READ_WRITE' })[m] ?? 'READ_ONLY';
  const options: [string, string | null | false][] = [
    ['SFUNC', a.sfunc],
    ['STYPE', a.stype],
    ['SSPACE', a.sspace ? String(a.sspace) : null],
    ['FINALFUNC', a.finalfunc],
    ['FINALFUNC_EXTRA', a.finalextra && ''],
    ['FINALFUNC_MODIFY', a.finalfunc && a.finalmodify !== 'r' ? modify(a.finalmodify) : null],
    ['COMBINEFUNC', a.combinefunc],
    ['SERIALFUNC', a.serialfunc],
    ['DESERIALFUNC', a.deserialfunc],
    ['INITCOND', a.initcond === null ? null : literal(a.initcond)],
    ['MSFUNC', a.msfunc],
    ['MINVFUNC', a.minvfunc],
    ['MSTYPE', a.mstype],
    ['MSSPACE', a.msspace ? String(a.msspace) : null],
    ['MFINALFUNC', a.mfinalfunc],
    ['MFINALFUNC_EXTRA', a.mfinalextra && ''],
    ['MFINALFUNC_MODIFY', a.mfinalfunc && a.mfinalmodify !== 'r' ? modify(a.mfinalmodify) : null],
    ['MINITCOND', a.minitcond === null ? null : literal(a.minitcond)],
    ['SORTOP', a.sortop === null ? null : `OPERATOR(${a.sortop})`],
    ['PARALLEL', a.parallel === 's' ? 'SAFE' : a.parallel === 'r' ? 'RESTRICTED' : null],
  ];
  const written = options.flatMap(([k, v]) => (v === null || v === false ? [] : [v === '' ? k : `${k} = ${v}`]));
  const comment = a.comment === null ? '' : `\nCOMMENT ON AGGREGATE ${name} IS ${literal(a.comment)};\n`;
  return `CREATE AGGREGATE ${name} (\n  ${written.join(',\n  ')}\n);\n${comment}`;
}
