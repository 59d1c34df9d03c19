import type { AuditEvent, AuditTrail, Connection, ObjectKey } from '@dbee/core';

/**
 * PostgreSQL's catalog keeps no modification times or authors: an event trigger on `ddl_command_end` and
 * `sql_drop` records them into the ledger schema (`dbee.audit_events`), with the recording periods in
 * `dbee.audit_periods`. The trigger function runs as the caller (so `current_user` is who changed the object) and
 * writes through a SECURITY DEFINER function, so no role needs rights on the table. Creating event triggers needs a
 * superuser on a server.
 */
const ENABLE = [
  `CREATE SCHEMA IF NOT EXISTS dbee`,
  `CREATE TABLE IF NOT EXISTS dbee.audit_events (
     id bigserial PRIMARY KEY,
     at timestamptz NOT NULL DEFAULT clock_timestamp(),
     role text NOT NULL,
     event text NOT NULL,
     command_tag text,
     object_type text,
     schema_name text,
     object_identity text
   )`,
  `CREATE TABLE IF NOT EXISTS dbee.audit_periods (id serial PRIMARY KEY, enabled_at timestamptz NOT NULL DEFAULT clock_timestamp(), disabled_at timestamptz)`,
  `CREATE OR REPLACE FUNCTION dbee.audit_record(p_role text, p_event text, p_tag text, p_type text, p_schema text, p_identity text)
     RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS
   $$ INSERT INTO dbee.audit_events (role, event, command_tag, object_type, schema_name, object_identity) VALUES (p_role, p_event, p_tag, p_type, p_schema, p_identity) $$`,
  `CREATE OR REPLACE FUNCTION dbee.audit_ddl() RETURNS event_trigger LANGUAGE plpgsql SET search_path = pg_catalog AS $$
   DECLARE r record;
   BEGIN
     IF tg_event = 'sql_drop' THEN
       FOR r IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
         IF r.schema_name IS DISTINCT FROM 'dbee' AND NOT r.is_temporary AND r.original THEN
           PERFORM dbee.audit_record(current_user::text, 'drop', tg_tag, r.object_type, r.schema_name, r.object_identity);
         END IF;
       END LOOP;
     ELSE
       FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
         IF r.schema_name IS DISTINCT FROM 'dbee' AND NOT r.in_extension THEN
           PERFORM dbee.audit_record(current_user::text, 'ddl', r.command_tag, r.object_type, r.schema_name, r.object_identity);
         END IF;
       END LOOP;
     END IF;
   END $$`,
  `GRANT USAGE ON SCHEMA dbee TO PUBLIC`,
  `REVOKE ALL ON FUNCTION dbee.audit_record(text, text, text, text, text, text) FROM PUBLIC`,
  `GRANT EXECUTE ON FUNCTION dbee.audit_record(text, text, text, text, text, text) TO PUBLIC`,
  `DROP EVENT TRIGGER IF EXISTS dbee_audit_ddl`,
  `CREATE EVENT TRIGGER dbee_audit_ddl ON ddl_command_end EXECUTE FUNCTION dbee.audit_ddl()`,
  `DROP EVENT TRIGGER IF EXISTS dbee_audit_drop`,
  `CREATE EVENT TRIGGER dbee_audit_drop ON sql_drop EXECUTE FUNCTION dbee.audit_ddl()`,
];

const OPEN_PERIOD = `INSERT INTO dbee.audit_periods (enabled_at) SELECT coalesce($1::timestamptz, clock_timestamp()) WHERE NOT EXISTS (SELECT 1 FROM dbee.audit_periods WHERE disabled_at IS NULL)`;

const DISABLE = [
  `DROP EVENT TRIGGER IF EXISTS dbee_audit_ddl`,
  `DROP EVENT TRIGGER IF EXISTS dbee_audit_drop`,
  `UPDATE dbee.audit_periods SET disabled_at = clock_timestamp() WHERE disabled_at IS NULL`,
];

/** PostgreSQL's object types (pg_event_trigger_ddl_commands) as dbee kinds; indexes, triggers... count as their table. */
const KINDS: Record<string, ObjectKey['kind']> = {
  table: 'table',
  'table column': 'table',
  'table constraint': 'table',
  index: 'table',
  trigger: 'table',
  policy: 'table',
  rule: 'view',
  view: 'view',
  'materialized view': 'materialized-view',
  function: 'function',
  procedure: 'procedure',
  aggregate: 'aggregate',
  sequence: 'sequence',
  type: 'type',
  domain: 'domain',
  'domain constraint': 'domain',
  'text search dictionary': 'text-search-dictionary',
  'text search configuration': 'text-search-configuration',
  schema: 'schema',
};

/** The object an audit row is about: a trigger's or policy's table (`name on schema.table`), a column's table... */
export function auditKey(
  objectType: string,
  schema: string | null,
  identity: string,
  indexTables: Map<string, string>,
): ObjectKey | null {
  const kind = KINDS[objectType];
  if (!kind) return null;
  if (kind === 'schema') return { kind, schema: '', name: identity.replace(/^"|"$/g, '') };
  if (!schema) return null;
  const unquote = (s: string) => s.replace(/^"|"$/g, '').replace(/""/g, '"');
  let qualified = identity;
  const on = / on (.+)$/.exec(identity);
  if (
    on &&
    (objectType === 'trigger' ||
      objectType === 'policy' ||
      objectType === 'rule' ||
      objectType === 'table constraint' ||
      objectType === 'domain constraint')
  )
    qualified = on[1]!;
  if (objectType === 'index') qualified = indexTables.get(identity) ?? identity;
  // `schema.name`, `schema.name.column`, `schema.fn(args)`: the name is the part after the schema, up to a dot or parenthesis.
  const rest = qualified.startsWith(schema + '.')
    ? qualified.slice(schema.length + 1)
    : qualified.startsWith(`"${schema}".`)
      ? qualified.slice(schema.length + 3)
      : qualified;
  const name = /^("(?:[^"]|"")+"|[^.(]+)/.exec(rest)?.[1] ?? rest;
  return { kind, schema, name: unquote(name) };
}

export const postgresAudit: AuditTrail = {
  async roleExists(conn: Connection, name: string) {
    return (await conn.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [name])).rows.length > 0;
  },
  async enable(conn: Connection, at?: Date) {
    await conn.transaction(async (tx) => {
      for (const sql of ENABLE) await tx.execute(sql);
      await tx.query(OPEN_PERIOD, [at ?? null]);
    });
  },
  async disable(conn: Connection) {
    if (!(await exists(conn))) return;
    await conn.transaction(async (tx) => {
      for (const sql of DISABLE) await tx.execute(sql);
    });
  },
  async periods(conn: Connection) {
    if (!(await exists(conn))) return [];
    const r = await conn.query<{ enabled_at: Date | string; disabled_at: Date | string | null }>(
      'SELECT enabled_at, disabled_at FROM dbee.audit_periods ORDER BY id',
    );
    return r.rows.map((p) => ({
      from: new Date(p.enabled_at),
      to: p.disabled_at === null ? null : new Date(p.disabled_at),
    }));
  },
  async events(conn: Connection, filter: { schemas: string[]; since?: Date; by?: string }): Promise<AuditEvent[]> {
    if (!(await exists(conn))) return [];
    const r = await conn.query<{
      at: Date | string;
      role: string;
      event: string;
      command_tag: string;
      object_type: string;
      schema_name: string | null;
      object_identity: string;
      index_table: string | null;
    }>(
      `SELECT e.at, e.role, e.event, e.command_tag, e.object_type, e.schema_name, e.object_identity,
              (SELECT n.nspname || '.' || t.relname FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
                WHERE e.object_type = 'index' AND i.indexrelid = to_regclass(e.object_identity)) AS index_table
         FROM dbee.audit_events e
        WHERE (e.schema_name = ANY($1::text[]) OR (e.object_type = 'schema' AND e.object_identity = ANY($1::text[])))
          AND ($2::timestamptz IS NULL OR e.at >= $2) AND ($3::text IS NULL OR e.role = $3)
        ORDER BY e.id`,
      [filter.schemas, filter.since ?? null, filter.by ?? null],
    );
    return r.rows.map((e) => {
      const indexTables = new Map<string, string>(e.index_table ? [[e.object_identity, e.index_table]] : []);
      return {
        at: new Date(e.at).toISOString(),
        role: e.role,
        event: e.event === 'drop' ? 'drop' : 'ddl',
        command: e.command_tag,
        objectType: e.object_type,
        schema: e.schema_name,
        identity: e.object_identity,
        key: auditKey(e.object_type, e.schema_name, e.object_identity, indexTables),
      };
    });
  },
};

async function exists(conn: Connection): Promise<boolean> {
  const r = await conn.query<{ ok: boolean }>(`SELECT to_regclass('dbee.audit_periods') IS NOT NULL AS ok`);
  return r.rows[0]!.ok === true;
}
