/**
 * Names that resolve to `pg_catalog` when written without a schema. PostgreSQL searches `pg_catalog` before the
 * search path, so an unqualified use of one of these names is not a reference to a project object.
 */

/** Type names of `pg_catalog` (internal names and the pseudo-types), plus the `serial` shorthands. */
export const BUILTIN_TYPES: ReadonlySet<string> = new Set([
  'bool', 'bytea', 'char', 'name', 'int8', 'int2', 'int2vector', 'int4', 'regproc', 'text', 'oid', 'tid', 'xid',
  'xid8', 'cid', 'oidvector', 'json', 'xml', 'pg_node_tree', 'pg_ndistinct', 'pg_dependencies', 'pg_mcv_list',
  'pg_ddl_command', 'point', 'lseg', 'path', 'box', 'polygon', 'line', 'float4', 'float8', 'unknown', 'circle',
  'money', 'macaddr', 'inet', 'cidr', 'macaddr8', 'aclitem', 'bpchar', 'varchar', 'date', 'time', 'timestamp',
  'timestamptz', 'interval', 'timetz', 'bit', 'varbit', 'numeric', 'refcursor', 'regprocedure', 'regoper',
  'regoperator', 'regclass', 'regcollation', 'regtype', 'regrole', 'regnamespace', 'regconfig', 'regdictionary',
  'uuid', 'pg_lsn', 'tsvector', 'gtsvector', 'tsquery', 'txid_snapshot', 'pg_snapshot', 'jsonb', 'jsonpath',
  'int4range', 'numrange', 'tsrange', 'tstzrange', 'daterange', 'int8range', 'int4multirange', 'nummultirange',
  'tsmultirange', 'tstzmultirange', 'datemultirange', 'int8multirange', 'record', 'cstring', 'any', 'anyelement',
  'anyarray', 'void', 'trigger', 'event_trigger', 'language_handler', 'internal', 'anyenum', 'fdw_handler',
  'index_am_handler', 'tsm_handler', 'table_am_handler', 'anyrange', 'anymultirange', 'anynonarray',
  'anycompatible', 'anycompatiblearray', 'anycompatiblenonarray', 'anycompatiblerange', 'anycompatiblemultirange',
  'pg_brin_bloom_summary', 'pg_brin_minmax_multi_summary', 'smgr', 'opaque',
  // Accepted only in column definitions, expanded by CREATE TABLE.
  'serial', 'serial2', 'serial4', 'serial8', 'smallserial', 'bigserial',
  // Spellings the grammar turns into the names above; they reach us unqualified from PL/pgSQL declarations.
  'integer', 'int', 'smallint', 'bigint', 'real', 'float', 'double precision', 'boolean', 'character',
  'character varying', 'decimal', 'dec', 'timestamp with time zone', 'timestamp without time zone',
  'time with time zone', 'time without time zone', 'bit varying', 'national character', 'nchar',
  'national character varying',
]);

/** How `format_type` prints a `pg_catalog` type whose internal name differs from its SQL name. */
export const TYPE_DISPLAY_NAMES: ReadonlyMap<string, string> = new Map([
  ['bool', 'boolean'],
  ['int2', 'smallint'],
  ['int4', 'integer'],
  ['int8', 'bigint'],
  ['float4', 'real'],
  ['float8', 'double precision'],
  ['bpchar', 'character'],
  ['varchar', 'character varying'],
  ['varbit', 'bit varying'],
  ['timestamp', 'timestamp without time zone'],
  ['timestamptz', 'timestamp with time zone'],
  ['time', 'time without time zone'],
  ['timetz', 'time with time zone'],
  ['char', '"char"'],
  ['any', '"any"'],
  ['int', 'integer'],
  ['float', 'double precision'],
  ['decimal', 'numeric'],
  ['dec', 'numeric'],
]);

/**
 * Functions of `pg_catalog` commonly called without a schema. Calls to them are not references. The list is not
 * exhaustive: an unqualified call to another built-in becomes a reference that the planner cannot resolve to a
 * project object, which it ignores.
 */
export const BUILTIN_FUNCTIONS: ReadonlySet<string> = new Set([
  // aggregates and window functions
  'count', 'sum', 'avg', 'min', 'max', 'array_agg', 'string_agg', 'json_agg', 'jsonb_agg', 'json_object_agg',
  'jsonb_object_agg', 'bool_and', 'bool_or', 'every', 'bit_and', 'bit_or', 'stddev', 'stddev_pop', 'stddev_samp',
  'variance', 'var_pop', 'var_samp', 'percentile_cont', 'percentile_disc', 'mode', 'corr', 'covar_pop',
  'covar_samp', 'regr_slope', 'regr_intercept', 'xmlagg', 'any_value', 'row_number', 'rank', 'dense_rank',
  'percent_rank', 'cume_dist', 'ntile', 'lag', 'lead', 'first_value', 'last_value', 'nth_value',
  // sequences
  'nextval', 'currval', 'setval', 'lastval',
  // strings
  'lower', 'upper', 'initcap', 'length', 'char_length', 'character_length', 'octet_length', 'bit_length', 'concat',
  'concat_ws', 'format', 'left', 'right', 'lpad', 'rpad', 'ltrim', 'rtrim', 'btrim', 'trim', 'replace', 'repeat',
  'reverse', 'split_part', 'strpos', 'substr', 'substring', 'position', 'overlay', 'translate', 'ascii', 'chr',
  'md5', 'sha224', 'sha256', 'sha384', 'sha512', 'encode', 'decode', 'quote_ident', 'quote_literal',
  'quote_nullable', 'regexp_replace', 'regexp_match', 'regexp_matches', 'regexp_split_to_array',
  'regexp_split_to_table', 'regexp_like', 'regexp_count', 'regexp_instr', 'regexp_substr', 'starts_with',
  'string_to_array', 'string_to_table', 'array_to_string', 'to_hex', 'convert', 'convert_from', 'convert_to',
  'unistr', 'normalize', 'casefold',
  // numbers
  'abs', 'ceil', 'ceiling', 'floor', 'round', 'trunc', 'mod', 'power', 'sqrt', 'cbrt', 'exp', 'ln', 'log', 'log10',
  'sign', 'random', 'random_normal', 'setseed', 'greatest', 'least', 'div', 'gcd', 'lcm', 'width_bucket', 'pi',
  'degrees', 'radians', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'atan2', 'scale', 'trim_scale',
  // dates and times
  'now', 'clock_timestamp', 'statement_timestamp', 'transaction_timestamp', 'timeofday', 'date_trunc',
  'date_part', 'date_bin', 'date_add', 'date_subtract', 'extract', 'age', 'make_date', 'make_time',
  'make_timestamp', 'make_timestamptz', 'make_interval', 'to_char', 'to_date', 'to_timestamp', 'to_number',
  'justify_days', 'justify_hours', 'justify_interval', 'isfinite', 'timezone', 'generate_series',
  'generate_subscripts',
  // conditionals and misc
  'coalesce', 'nullif', 'num_nonnulls', 'num_nulls', 'gen_random_uuid', 'uuidv4', 'uuidv7', 'uuid_extract_timestamp',
  'current_setting', 'set_config', 'pg_typeof', 'version', 'txid_current', 'pg_current_xact_id', 'has_table_privilege',
  'has_schema_privilege', 'has_function_privilege', 'pg_has_role', 'row_to_json', 'to_json', 'to_jsonb',
  'pg_advisory_lock', 'pg_advisory_unlock', 'pg_advisory_xact_lock', 'pg_try_advisory_lock',
  'pg_try_advisory_xact_lock', 'pg_notify', 'pg_sleep', 'pg_backend_pid', 'current_database', 'current_schema',
  'current_schemas', 'inet_client_addr', 'obj_description', 'col_description', 'format_type',
  // arrays
  'array_length', 'array_lower', 'array_upper', 'array_dims', 'array_ndims', 'array_append', 'array_prepend',
  'array_cat', 'array_position', 'array_positions', 'array_remove', 'array_replace', 'array_fill', 'cardinality',
  'unnest', 'array_sample', 'array_shuffle', 'trim_array', 'array_reverse', 'array_sort',
  // json
  'json_build_object', 'jsonb_build_object', 'json_build_array', 'jsonb_build_array', 'json_object', 'jsonb_object',
  'json_array_length', 'jsonb_array_length', 'json_each', 'jsonb_each', 'json_each_text', 'jsonb_each_text',
  'json_extract_path', 'jsonb_extract_path', 'json_extract_path_text', 'jsonb_extract_path_text',
  'json_object_keys', 'jsonb_object_keys', 'json_populate_record', 'jsonb_populate_record',
  'json_populate_recordset', 'jsonb_populate_recordset', 'json_to_record', 'jsonb_to_record', 'json_to_recordset',
  'jsonb_to_recordset', 'json_array_elements', 'jsonb_array_elements', 'json_array_elements_text',
  'jsonb_array_elements_text', 'json_typeof', 'jsonb_typeof', 'json_strip_nulls', 'jsonb_strip_nulls', 'jsonb_set',
  'jsonb_set_lax', 'jsonb_insert', 'jsonb_pretty', 'jsonb_path_query', 'jsonb_path_query_array',
  'jsonb_path_query_first', 'jsonb_path_exists', 'jsonb_path_match', 'to_tsvector', 'to_tsquery',
  'plainto_tsquery', 'phraseto_tsquery', 'websearch_to_tsquery', 'ts_rank', 'ts_rank_cd', 'ts_headline',
  'setweight',
  // ranges
  'lower_inc', 'upper_inc', 'lower_inf', 'upper_inf', 'isempty', 'range_merge', 'int4range', 'int8range',
  'numrange', 'tsrange', 'tstzrange', 'daterange',
]);
