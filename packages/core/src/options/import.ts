import { defineCommand } from './command';
import { assumeYes, dryRun, project, ticket } from './common';
import { choice, clock, positional, text } from './option';

/** The tools whose migration folders and history tables `dbee import` reads (docs/import.md, one section each). */
export const IMPORT_TOOLS = [
  'flyway',
  'liquibase',
  'golang-migrate',
  'goose',
  'dbmate',
  'prisma',
  'drizzle',
  'sqitch',
  'rails',
] as const;

export const importCommand = defineCommand('import', {
  summary:
    "Convert another tool's migration folder (Flyway, Liquibase, golang-migrate, goose, dbmate, Prisma, Drizzle, Sqitch, Rails) into a dbee project and, with --env, record the migrations that tool applied there as deployed",
  description:
    "Reads the folder of another migration tool and writes its migrations as dbee migrations (migrations/V<version>__<description>.sql, with the tool's undo script as the rollback where it has one), in the tool's order, into the project's folder (a new project `<project>/` with a db.yaml noting the origin, or an existing one). Bad input is refused (exit 1) with the file and line, and nothing is written. With --env, the tool's history table on that environment is read, each applied migration is checked against its file (checksums where the tool's can be recomputed), and the applied ones are recorded in dbee's ledger as deployed, through the pipeline (gates, lock, ledger rows), with the live objects adopted as they are; the tool's own table is left untouched. See docs/import.md.",
  options: {
    project,
    folder: positional(
      "The other tool's migration folder (for Prisma the `prisma/migrations` folder, for Sqitch the folder of sqitch.plan, for Liquibase the root changelog or its folder, for Rails the application's folder with db/structure.sql).",
    ),
    from: choice(IMPORT_TOOLS, 'The tool the folder belongs to. Required.', { value: `<${IMPORT_TOOLS.join('|')}>` }),
    env: text(
      "Also import the live history of this environment: read the tool's history table there and record the migrations it applied in dbee's ledger, without running them. Default: files only.",
      { short: 'e', value: '<name>' },
    ),
    schemas: text(
      'The schemas the new project owns, comma-separated (db.yaml `schemas`), when the project is new. Default: `public`.',
      { value: '<a,b>' },
    ),
    historyTable: text(
      "With --env: where the tool's history table is, `[schema.]table`, when not at the tool's default (`flyway_schema_history`, `databasechangelog`, `schema_migrations`, `goose_db_version`, `_prisma_migrations`, `drizzle.__drizzle_migrations`, `sqitch.changes`).",
      { value: '<table>' },
    ),
    dryRun: dryRun(
      'Print the files it would write and, with --env, what it would record (gates checked), without writing files or the ledger.',
    ),
    assumeYes,
    ticket,
    now: clock(),
  },
});
