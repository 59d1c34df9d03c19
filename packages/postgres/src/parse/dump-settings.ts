/**
 * Session settings that `pg_dump` prints before (and between) the definitions of a dump: `SET statement_timeout
 * = 0;`, `SET default_tablespace = '';`, `SELECT pg_catalog.set_config('search_path', '', false);`... In an
 * object file they configure the session of a restore, not an object: dbee runs its own session settings (the
 * project's search path), so these are left out of object files, which makes a dump a valid starting point.
 * A `SET` of any other parameter is kept (it belongs to the object before it, as always).
 */
const DUMP_PARAMETERS = [
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'transaction_timeout',
  'client_encoding',
  'standard_conforming_strings',
  'check_function_bodies',
  'xmloption',
  'client_min_messages',
  'row_security',
  'default_tablespace',
  'default_table_access_method',
  'default_with_oids',
  'escape_string_warning',
];

const SET = new RegExp(`^\\s*SET\\s+(?:SESSION\\s+)?(?:${DUMP_PARAMETERS.join('|')})\\s*(?:=|TO)\\s*[^;]*;?\\s*$`, 'i');
const SET_CONFIG = /^\s*SELECT\s+pg_catalog\.set_config\(\s*'search_path'\s*,\s*''\s*,\s*false\s*\)\s*;?\s*$/i;

/** Whether `sql` is one of the session settings `pg_dump` prints (see above). */
export function isDumpSessionSetting(sql: string): boolean {
  return SET.test(sql) || SET_CONFIG.test(sql);
}

/**
 * `pg_dump` (PostgreSQL 13.22, 14.19, 15.14, 16.10, 17.6 and later) opens and closes a plain dump with psql's
 * `\restrict <key>` and `\unrestrict <key>` meta-commands, which guard a restore through psql and are no SQL. Their
 * lines are blanked (spaces of the same length, so every position and line number in the file stays as written).
 */
const PSQL_RESTRICT = /^[ \t]*\\(?:un)?restrict\b[^\n]*$/gm;

/** `text` with pg_dump's `\restrict` and `\unrestrict` lines blanked (see above). */
export function withoutDumpRestrict(text: string): string {
  if (!text.includes('restrict')) return text;
  return text.replace(PSQL_RESTRICT, (line) => ' '.repeat(line.length));
}
