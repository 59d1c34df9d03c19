// Public API of @dbee/teradata: a flat list of explicit exports.
export { createTeradataEngine, teradataCapabilities } from './engine';
export { extractTeradata, teradataAudit, restoreDatabaseNames } from './introspect/extract';
export type { TeradataEngineOptions } from './engine';

export { tokenize, splitStatements, isSignificant } from './parse/splitter';
export type { Token, TokenType, SplitStatement, SplitOptions } from './parse/splitter';
export { parseTeradata, classifyStatement, scanReferences, TeradataParser } from './parse/teradata-parser';
export type { TeradataParseOptions, StatementClass } from './parse/teradata-parser';
export { normalizeName, quoteIdent, qualify, quoteString, RESERVED_WORDS } from './parse/teradata-identifiers';
export { expandPlaceholders } from './parse/placeholders';

export type {
  TeradataDriver,
  TeradataDriverName,
  TeradataSession,
  TeradataResult,
  TeradataResultSet,
} from './driver/driver';
export { ESCAPE } from './driver/driver';
export { loadDriver, DRIVER_INSTALL, isDriverName } from './driver/load-driver';
export { teradatasqlDriver, TERADATASQL_PARAMETERS } from './driver/teradatasql-driver';
export { nodejsDriver, NODEJS_DRIVER_PARAMETERS } from './driver/nodejs-driver';
export {
  TeradataConnection,
  connectTeradata,
  toDriverParameters,
  describeTarget,
  driverNameOf,
  secretsOf,
  DBEE_CONNECTION_KEYS,
} from './connection/teradata-connection';
export type { TeradataTarget, ConnectOptions } from './connection/teradata-connection';

export {
  mapTeradataError,
  parseTeradataMessage,
  teradataErrorCode,
  TERADATA_ERROR_CLASSES,
} from './connection/teradata-errors';
export type { TeradataMessage, ErrorClass, ErrorContext } from './connection/teradata-errors';

export {
  kindKeyword,
  qualifiedName,
  renderShow,
  renderDrop,
  renderRename,
  renderCopyData,
  backupName,
  toReplace,
  showText,
  definitionStatements,
  tableColumns,
  REPLACEABLE_KINDS,
  SHOWABLE_KINDS,
  MAX_NAME_LENGTH,
} from './render/teradata-renderer';
export {
  planObjectChange,
  prepareTeradataPlan,
  reverseAfterFailure,
  captureDefinition,
  lookupObject,
  liveColumns,
  TABLE_KIND_CODES,
} from './catalog/teradata-deploy';
export type { ObjectChange, ObjectChangeOptions, PreparePlanOptions, TableBackup } from './catalog/teradata-deploy';

export { normalizeDefinition, compareDefinitions, tableAttributesFromSql } from './render/teradata-normalize';
export type { NormalizeOptions, DefinitionComparison, TeradataTableAttributes } from './render/teradata-normalize';
export { listChangedObjects, formatDbcTimestamp } from './introspect/teradata-introspector';
export type { ChangedObjectsOptions, ChangedObject } from './introspect/teradata-introspector';
export { compareObjects } from './compare/teradata-compare';

export { acquireTeradataLock } from './lock/teradata-lock';
export type { TeradataLockOptions, TeradataLockHandle } from './lock/teradata-lock';
export {
  teradataLedger,
  teradataLedgerMigrations,
  ledgerDatabaseFor,
  ledgerTable,
  lockTableDdl,
  TERADATA_LEDGER_DATABASE,
} from './ledger/teradata-ledger';

export { toBteq, toBteqRollback, bteqRequest, bteqReturnCode, BTEQ_LEDGER_FAILED, BTEQ_ID_TAKEN } from './bteq/bteq';
export type { BteqOptions, BteqLedgerOptions } from './bteq/bteq';

export {
  existingObjects,
  captureDefinition as captureReplaceableDefinition,
  setAside,
  renderCopyData as renderCopyFromBackup,
  backupNameFromStamp,
  searchPathStatement,
  sessionSetup,
} from './introspect/teradata-objects';
