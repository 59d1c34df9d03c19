import type { IMPORT_TOOLS } from '../options/import';
import { dbmate } from './dbmate';
import { drizzle } from './drizzle';
import { flyway } from './flyway';
import { golangMigrate } from './golang-migrate';
import { goose } from './goose';
import type { Importer } from './imported';
import { liquibase } from './liquibase';
import { prisma } from './prisma';
import { rails } from './rails';
import { sqitch } from './sqitch';

/** Each tool `--from` names, its reader: the compiler refuses a tool without one. */
export const IMPORTERS: { [K in (typeof IMPORT_TOOLS)[number]]: Importer } = {
  flyway,
  'golang-migrate': golangMigrate,
  goose,
  dbmate,
  prisma,
  drizzle,
  sqitch,
  liquibase,
  rails,
};
