import { columnComment } from './rules/column-comment';
import { columnNoVolatileDefault } from './rules/column-no-volatile-default';
import { columnNotNullDefault } from './rules/column-not-null-default';
import { foreignKeyIndex } from './rules/foreign-key-index';
import { foreignKeyNoCascade } from './rules/foreign-key-no-cascade';
import { foreignKeyType } from './rules/foreign-key-type';
import { grantNoAll } from './rules/grant-no-all';
import { grantNoPublic } from './rules/grant-no-public';
import { indexDuplicate } from './rules/index-duplicate';
import { indexMaxColumns } from './rules/index-max-columns';
import { indexMaxPerTable } from './rules/index-max-per-table';
import { matviewUniqueIndex } from './rules/matview-unique-index';
import { migrationBannedStatements } from './rules/migration-banned-statements';
import { migrationInsertColumns } from './rules/migration-insert-columns';
import { migrationLockTimeout } from './rules/migration-lock-timeout';
import { migrationNoCascade } from './rules/migration-no-cascade';
import { migrationNoTransactionControl } from './rules/migration-no-transaction-control';
import { migrationRollback } from './rules/migration-rollback';
import { migrationWhereRequired } from './rules/migration-where-required';
import { namingColumn } from './rules/naming-column';
import { namingForeignKey } from './rules/naming-foreign-key';
import { namingIndex } from './rules/naming-index';
import { namingMaxLength } from './rules/naming-max-length';
import { namingPrimaryKey } from './rules/naming-primary-key';
import { namingQuoted } from './rules/naming-quoted';
import { namingReservedWord } from './rules/naming-reserved-word';
import { namingRoutine } from './rules/naming-routine';
import { namingSchemaPrefix } from './rules/naming-schema-prefix';
import { namingTable } from './rules/naming-table';
import { namingUnique } from './rules/naming-unique';
import { namingView } from './rules/naming-view';
import { routineComment } from './rules/routine-comment';
import { routineLanguage } from './rules/routine-language';
import { securityDefinerSearchPath } from './rules/security-definer-search-path';
import { tableComment } from './rules/table-comment';
import { tableNoForeignKey } from './rules/table-no-foreign-key';
import { tableNoPartition } from './rules/table-no-partition';
import { tableNoTrigger } from './rules/table-no-trigger';
import { tablePrimaryKey } from './rules/table-primary-key';
import { tableRequiredColumns } from './rules/table-required-columns';
import { tableRowSecurity } from './rules/table-row-security';
import { typeBanned } from './rules/type-banned';
import { typeKeyBigint } from './rules/type-key-bigint';
import { typeNoChar } from './rules/type-no-char';
import { typeNoJson } from './rules/type-no-json';
import { typeNoMoney } from './rules/type-no-money';
import { typeNoSerial } from './rules/type-no-serial';
import { typeNoTimetz } from './rules/type-no-timetz';
import { typeTimestamptz } from './rules/type-timestamptz';
import { typeVarcharMax } from './rules/type-varchar-max';
import { viewComment } from './rules/view-comment';
import { viewNoSelectStar } from './rules/view-no-select-star';
import type { AnyPolicyRule } from './rule';

/**
 * Every schema review rule, in the order docs/policies.md lists them (by category). A rule is one module under
 * `rules/` and one line here; its forbid/allow examples are run by test/policies/rules.test.ts.
 */
export const POLICY_RULES: readonly AnyPolicyRule[] = [
  columnComment,
  columnNoVolatileDefault,
  columnNotNullDefault,
  foreignKeyIndex,
  foreignKeyNoCascade,
  foreignKeyType,
  grantNoAll,
  grantNoPublic,
  indexDuplicate,
  indexMaxColumns,
  indexMaxPerTable,
  matviewUniqueIndex,
  migrationBannedStatements,
  migrationInsertColumns,
  migrationLockTimeout,
  migrationNoCascade,
  migrationNoTransactionControl,
  migrationRollback,
  migrationWhereRequired,
  namingColumn,
  namingForeignKey,
  namingIndex,
  namingMaxLength,
  namingPrimaryKey,
  namingQuoted,
  namingReservedWord,
  namingRoutine,
  namingSchemaPrefix,
  namingTable,
  namingUnique,
  namingView,
  routineComment,
  routineLanguage,
  securityDefinerSearchPath,
  tableComment,
  tableNoForeignKey,
  tableNoPartition,
  tableNoTrigger,
  tablePrimaryKey,
  tableRequiredColumns,
  tableRowSecurity,
  typeBanned,
  typeKeyBigint,
  typeNoChar,
  typeNoJson,
  typeNoMoney,
  typeNoSerial,
  typeNoTimetz,
  typeTimestamptz,
  typeVarcharMax,
  viewComment,
  viewNoSelectStar,
];

/** The rules by name. */
export const RULES_BY_NAME: ReadonlyMap<string, AnyPolicyRule> = new Map(POLICY_RULES.map((r) => [r.name, r]));
