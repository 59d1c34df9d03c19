import type { QuerySourceRole } from '@dbee/core';
import { DbeeError } from '@dbee/core/errors';

/**
 * PostgreSQL's live query source (`QuerySourceRole`): `pg_stat_statements` of the connection's database, named by
 * `--queries pg_stat_statements` (the target's) or `pg_stat_statements:<env>`. Core parses the statements and judges.
 */
export const postgresQuerySources: QuerySourceRole = {
  names: ['pg_stat_statements'],
  /**
   * The statements `pg_stat_statements` holds for the connection's database (normalised: constants as `$n`), the most
   * called first. Refused when the extension is not installed in that database or its library not loaded.
   */
  async read(conn, _name, environment) {
    const installed = await conn.query<{ schema: string | null }>(
      `SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'`,
    );
    const schema = installed.rows[0]?.schema;
    if (!schema) {
      throw new DbeeError(`pg_stat_statements is not installed in the database of environment ${environment}`, {
        code: 'QUERY_SOURCE_UNAVAILABLE',
        hint: "CREATE EXTENSION pg_stat_statements there (the server needs shared_preload_libraries = 'pg_stat_statements'), or give the queries as files",
      });
    }
    try {
      const r = await conn.query<{ query: string; calls: string | number }>(
        `SELECT s.query, sum(s.calls) AS calls FROM "${schema.replace(/"/g, '""')}".pg_stat_statements s
          WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          GROUP BY s.query ORDER BY sum(s.calls) DESC, s.query`,
      );
      return r.rows.map((row) => ({ text: row.query, calls: Number(row.calls) }));
    } catch (e) {
      throw new DbeeError(
        `pg_stat_statements of environment ${environment} cannot be read: ${(e as Error).message.split('\n')[0]}`,
        {
          code: 'QUERY_SOURCE_UNAVAILABLE',
          hint: "the server needs shared_preload_libraries = 'pg_stat_statements' (a restart), and the role needs pg_read_all_stats to see other roles' queries",
        },
      );
    }
  },
};
