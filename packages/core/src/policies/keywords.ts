/**
 * PostgreSQL's reserved key words (and those reserved "can be function or type"), which a name can only be as a
 * quoted identifier: PostgreSQL documentation, Appendix C "SQL Key Words", table C.1, the entries marked "reserved"
 * and "reserved (can be function or type)" for PostgreSQL 15.
 */
export const RESERVED_WORDS: ReadonlySet<string> = new Set(
  `all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate collation
column concurrently constraint create cross current_catalog current_date current_role current_schema current_time
current_timestamp current_user default deferrable desc distinct do else end except false fetch for foreign freeze
from full grant group having ilike in initially inner intersect into is isnull join lateral leading left like limit
localtime localtimestamp natural not notnull null offset on only or order outer overlaps placing primary references
returning right select session_user similar some symmetric system_user table tablesample then to trailing true union
unique user using variadic verbose when where window with`
    .split(/\s+/)
    .filter(Boolean),
);
