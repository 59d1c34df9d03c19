import type { Connection, ExtractedObject, ObjectKey } from '@dbee/core';
import type { SchemaScope } from '@dbee/core/schema';
import { AGGREGATES_SQL, aggregateStatement, type AggregateRow } from '../introspect/aggregate-rows';

export { AGGREGATES_SQL, aggregateStatement, type AggregateRow } from '../introspect/aggregate-rows';

/**
 * The plain aggregates of `scope` as files; their `path` is left for the caller, which knows the routines they share a
 * name with (`schema/<schema>/functions/<name>.sql`, as the sources place them).
 */
export async function aggregateFiles(conn: Connection, scope: SchemaScope): Promise<ExtractedObject[]> {
  const r = await conn.query<AggregateRow>(AGGREGATES_SQL, [scope.schemas.filter((s) => s !== 'dbee')]);
  return r.rows.map((a) => {
    const key: ObjectKey = {
      kind: 'aggregate',
      schema: a.schema,
      name: a.name,
      args: a.args ? a.args.split(', ') : [],
    };
    return { key, path: '', text: aggregateStatement(a) };
  });
}
