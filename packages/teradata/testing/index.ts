// The Teradata test double: a fake driver and session that behave like a Teradata system where dbee needs it (see
// fake-connection.ts for what it does, fake-ddl.ts for the DDL rules and the manual each one comes from).
// Tests only: it lives outside the package's src/, so the build (tsconfig.build.json: src/ only) never compiles it and
// npm never publishes it (package.json `files`: dist only). Inside this repository, import this file by its path
// (`packages/teradata/testing`), as test/teradata/*.ts and the package's own src/*.test.ts do.
export {
  FakeTeradataSession,
  FakeOperationalError,
  fakeDriver,
  createFakeConnection,
  teradataErrorMessage,
  DEPENDENT_CODE,
} from './fake-connection';
export type {
  FakeError,
  FakeReply,
  FakeObject,
  FakeMatcher,
  FakeResponder,
  FakeSessionOptions,
  FakeLogEntry,
} from './fake-connection';
export { runSql, tableShape, formatTimestamp } from './fake-sql';
export type { FakeTableShape, FakeColumn, SqlHost } from './fake-sql';
export { canonicalShowTable, parseCreateTable, checkCreateTable } from './fake-ddl';
export type { ParsedTable, DdlError } from './fake-ddl';
export { runBteq } from './bteq-interpreter';
export { installHelpStats } from './fake-helpstats';
export type { HelpStats } from './fake-helpstats';
export type { BteqRun, BteqRunOptions } from './bteq-interpreter';
