// PostgreSQL source parser: a flat list of the module's public API.
export { PostgresParser, parsePostgresSource } from './postgres-parser';
export { loadPostgresParser, isPostgresParserLoaded } from './libpg';
export { removeConstraints, constraintNameOf, foreignKeysOf } from './foreign-keys';
export type { ForeignKey } from './foreign-keys';
export { formatTypeName, isBuiltinType } from './type-names';
export { quoteIdent, quoteQualified, parseQualifiedName } from './names';
export { SourceText } from './source-text';
export { readQueryLineage } from './query-lineage';
