import type { Connection, ObjectKey } from '@dbee/core';
import { emptyModel, type SchemaModel } from '@dbee/core/schema';
import { POSTGRES_DEFAULT_PRIVILEGES } from '../introspect';
import { literal } from '../render/quote';

/** Schemas every new PostgreSQL database has before any statement (initdb makes them in template1). */
export const PRESENT_SCHEMAS: ReadonlySet<string> = new Set(['public']);

/** Whether `CREATE SCHEMA <name>` fails on every new database: the schema is there already. */
export function isPresentSchema(name: string): boolean {
  return PRESENT_SCHEMAS.has(name);
}

/**
 * What a new database holds of `live`'s schemas before any statement: `public` as initdb makes it (owned by
 * `pg_database_owner`, `USAGE` for PUBLIC, and `CREATE` too before PostgreSQL 15; the comment `standard public
 * schema`), when `live` has it. The `from` side for writing `live` from nothing (extract, the dry run's copy of a
 * target): what differs from it is written (a revoked grant, another comment), not a `CREATE SCHEMA public` that
 * fails on every database. Only schemas `live` holds: a project that does not include `public` never drops it.
 */
export function newDatabaseModel(live: SchemaModel): SchemaModel {
  const model: SchemaModel = { ...emptyModel(), defaultPrivileges: POSTGRES_DEFAULT_PRIVILEGES };
  const before15 = live.serverVersion !== undefined && live.serverVersion < 150000;
  for (const schema of live.schemas) {
    if (!isPresentSchema(schema.key.name)) continue;
    const target: ObjectKey = { kind: 'schema', schema: '', name: schema.key.name };
    model.schemas.push({ key: target, dependsOn: [], attrs: {} });
    model.privileges.push({
      target,
      grantee: 'PUBLIC',
      privileges: before15 ? ['CREATE', 'USAGE'] : ['USAGE'],
      grantable: [],
    });
    // Before 15, `public` belongs to the bootstrap superuser, whose name initdb chose: the live owner stands for it.
    const owner = before15
      ? live.owners.find((o) => o.target.kind === 'schema' && o.target.name === target.name)?.owner
      : 'pg_database_owner';
    if (owner) model.owners.push({ target, owner });
    model.comments.push({ target, text: 'standard public schema' });
  }
  return model;
}

/**
 * The custom parameters the target database sets for every session (`ALTER DATABASE d SET app.user_id = ''`), as
 * `set_config` calls for the copy's session: a view or function reading `current_setting('app.user_id')` fails on a
 * database that never set it ("unrecognized configuration parameter"). Only custom (dotted) names: a server
 * setting exists everywhere, and the copy keeps dbee's own.
 */
export async function databaseSettings(target: Connection): Promise<string[]> {
  const r = await target.query<{ name: string; value: string }>(
    `select split_part(c, '=', 1) as name, substr(c, strpos(c, '=') + 1) as value
     from pg_db_role_setting s cross join unnest(s.setconfig) c
     where s.setrole = 0 and s.setdatabase = (select oid from pg_database where datname = current_database())
     order by 1`,
  );
  return r.rows
    .filter((x) => x.name.includes('.'))
    .map((x) => `SELECT pg_catalog.set_config(${literal(x.name)}, ${literal(x.value)}, false)`);
}
