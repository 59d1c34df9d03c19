import type { EngineFacts, ParsedType } from '@dbee/core';

/** Functions whose result differs on every call: a default using one is evaluated for every existing row. */
const VOLATILE_FUNCTIONS = new Set([
  'random',
  'clock_timestamp',
  'timeofday',
  'gen_random_uuid',
  'uuidv4',
  'uuidv7',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'nextval',
  'setseed',
  'txid_current',
]);

/** The spellings of a type that `format_type` and the sources use, mapped to one name. */
const TYPE_ALIASES: Record<string, string> = {
  'character varying': 'varchar',
  character: 'char',
  bpchar: 'char',
  int: 'integer',
  int4: 'integer',
  int2: 'smallint',
  int8: 'bigint',
  decimal: 'numeric',
  float4: 'real',
  float8: 'double precision',
  'timestamp without time zone': 'timestamp',
  'timestamp with time zone': 'timestamptz',
  'time without time zone': 'time',
  'time with time zone': 'timetz',
  bool: 'boolean',
  'bit varying': 'varbit',
};

const INTEGER_RANK: Record<string, number> = { smallint: 1, integer: 2, bigint: 3, numeric: 4 };
const FLOAT_RANK: Record<string, number> = { real: 1, 'double precision': 2 };
const UNBOUNDED_TEXT = new Set(['text', 'varchar']);

/**
 * What changing a column's type does on PostgreSQL: whether `ALTER COLUMN TYPE` rewrites the table (binary-coercible
 * changes do not), and why values may be lost or rejected (null when every value converts exactly). Unknown
 * conversions are assumed to rewrite and to risk loss.
 */
function typeChange(a: ParsedType, b: ParsedType): { rewrite: boolean; loss: string | null } {
  if (a.array !== b.array) return { rewrite: true, loss: 'values may not convert' };
  const narrower = 'narrower type: longer values are rejected or truncated';

  if (a.base === b.base) {
    const [p1, s1] = a.mods;
    const [p2, s2] = b.mods;
    switch (a.base) {
      case 'varchar':
      case 'varbit':
        if (b.mods.length === 0) return { rewrite: false, loss: null };
        if (a.mods.length === 0 || p2! < p1!) return { rewrite: true, loss: narrower };
        return { rewrite: false, loss: null };
      case 'numeric':
        if (b.mods.length === 0) return { rewrite: false, loss: null };
        if (a.mods.length === 0) return { rewrite: true, loss: narrower };
        if ((s1 ?? 0) !== (s2 ?? 0)) {
          if ((s2 ?? 0) < (s1 ?? 0)) return { rewrite: true, loss: 'fewer decimal places: values are rounded' };
          return { rewrite: true, loss: p2! - (s2 ?? 0) < p1! - (s1 ?? 0) ? narrower : null };
        }
        return p2! >= p1! ? { rewrite: false, loss: null } : { rewrite: true, loss: narrower };
      case 'timestamp':
      case 'timestamptz':
      case 'time':
      case 'timetz':
      case 'interval': {
        const x = a.mods[0] ?? 6;
        const y = b.mods[0] ?? 6;
        return y >= x ? { rewrite: false, loss: null } : { rewrite: true, loss: 'less precision: values are rounded' };
      }
      case 'char':
        return { rewrite: true, loss: (p2 ?? 1) < (p1 ?? 1) ? narrower : null };
      default:
        return { rewrite: true, loss: 'values may not convert' };
    }
  }
  // text <-> varchar without a length are the same storage.
  if (UNBOUNDED_TEXT.has(a.base) && b.base === 'text') return { rewrite: false, loss: null };
  if (a.base === 'text' && b.base === 'varchar') {
    return b.mods.length === 0 ? { rewrite: false, loss: null } : { rewrite: true, loss: narrower };
  }
  const ia = INTEGER_RANK[a.base];
  const ib = INTEGER_RANK[b.base];
  if (ia !== undefined && ib !== undefined) {
    if (ia === 4) return { rewrite: true, loss: 'fractional or large values are rounded or rejected' };
    if (ib === 4) {
      const digits = [0, 5, 10, 19][ia]!;
      const room = b.mods.length ? b.mods[0]! - (b.mods[1] ?? 0) : Infinity;
      return { rewrite: true, loss: room < digits ? narrower : null };
    }
    return { rewrite: true, loss: ib >= ia ? null : narrower };
  }
  const fa = FLOAT_RANK[a.base];
  const fb = FLOAT_RANK[b.base];
  if (fa !== undefined && fb !== undefined)
    return { rewrite: true, loss: fb >= fa ? null : 'less precision: values are rounded' };
  if ((ia !== undefined && ia < 3 && fb === 2) || (ia === 1 && fb === 1)) return { rewrite: true, loss: null };
  if (UNBOUNDED_TEXT.has(b.base) && b.mods.length === 0) return { rewrite: true, loss: null };
  if (a.base === 'date' && (b.base === 'timestamp' || b.base === 'timestamptz')) return { rewrite: true, loss: null };
  if (a.base === 'timestamp' && b.base === 'timestamptz') return { rewrite: true, loss: null };
  return { rewrite: true, loss: 'values may not convert' };
}

/** What core's differ and hazard analyzers are told about PostgreSQL (`Engine.diff.facts`). */
export const postgresFacts: EngineFacts = {
  volatileFunctions: VOLATILE_FUNCTIONS,
  typeAliases: TYPE_ALIASES,
  sequenceFunction: 'nextval',
  // Predefined roles are all named pg_*; the rest are words that stand for a role.
  builtInRoles: /^(public|current_user|session_user|current_role|pg_.*)$/i,
  systemSchemas: /^(pg_.*|information_schema)$/,
  typeChange,
  // PostgreSQL 17 added MAINTAIN (VACUUM, ANALYZE, REINDEX...), part of GRANT ALL there; 14-16 refuse the word.
  privilegesSince: { MAINTAIN: 170000 },
};
