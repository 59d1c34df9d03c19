import type { ObjectKey, ObjectKind } from '@dbee/core';
import type { FunctionParameter, Node, ObjectType, ObjectWithArgs, RangeVar, TypeName } from '@pgsql/types';
import { nameList, stringValue } from './names';
import { formatTypeName } from './type-names';

/** Object kinds addressed by an `ObjectType` in COMMENT, GRANT, DROP, ALTER ... RENAME/OWNER/SET SCHEMA. */
const KIND_OF_OBJECT_TYPE: Partial<Record<ObjectType, ObjectKind>> = {
  OBJECT_TABLE: 'table',
  OBJECT_FOREIGN_TABLE: 'table',
  OBJECT_VIEW: 'view',
  OBJECT_MATVIEW: 'materialized-view',
  OBJECT_SEQUENCE: 'sequence',
  OBJECT_INDEX: 'index',
  OBJECT_FUNCTION: 'function',
  OBJECT_PROCEDURE: 'procedure',
  OBJECT_ROUTINE: 'function',
  OBJECT_AGGREGATE: 'aggregate',
  OBJECT_TYPE: 'type',
  OBJECT_DOMAIN: 'domain',
  OBJECT_COLLATION: 'collation',
  OBJECT_TSDICTIONARY: 'text-search-dictionary',
  OBJECT_TSCONFIGURATION: 'text-search-configuration',
  OBJECT_SCHEMA: 'schema',
  OBJECT_EXTENSION: 'extension',
  OBJECT_TRIGGER: 'trigger',
  OBJECT_POLICY: 'policy',
  // A column or a table constraint belongs to its table.
  OBJECT_COLUMN: 'table',
  OBJECT_TABCONSTRAINT: 'table',
  OBJECT_DOMCONSTRAINT: 'domain',
};

/** The object kind an `ObjectType` names, if dbee tracks such objects. */
export function kindOfObjectType(type: ObjectType | undefined): ObjectKind | undefined {
  return type === undefined ? undefined : KIND_OF_OBJECT_TYPE[type];
}

/** Parameter modes that are part of a routine's identity (`pg_get_function_identity_arguments`). */
const IDENTITY_MODES: ReadonlySet<string> = new Set([
  'FUNC_PARAM_DEFAULT',
  'FUNC_PARAM_IN',
  'FUNC_PARAM_INOUT',
  'FUNC_PARAM_VARIADIC',
]);

/** Builds object keys; unqualified names get the first schema of the search path. */
export class KeyMaker {
  constructor(readonly defaultSchema: string) {}

  /** Key of a relation-like object named by a RangeVar (`CREATE TABLE s.t`, `CREATE SEQUENCE q`). */
  relation(kind: ObjectKind, rv: RangeVar): ObjectKey {
    return { kind, schema: rv.schemaname ?? this.defaultSchema, name: rv.relname ?? '' };
  }

  /** Key of an object named by a possibly qualified name list (`s.name` or `name`). */
  named(kind: ObjectKind, names: readonly string[]): ObjectKey {
    const name = names[names.length - 1] ?? '';
    return { kind, schema: names.length >= 2 ? names[names.length - 2]! : this.defaultSchema, name };
  }

  /** Key of an object that lives in no schema (schema, extension). */
  global(kind: ObjectKind, name: string): ObjectKey {
    return { kind, schema: '', name };
  }

  /** Key of a trigger, policy or index: its schema is its table's, and its table is part of its identity. */
  child(kind: ObjectKind, table: { schema?: string; name: string }, name: string): ObjectKey {
    const schema = table.schema ?? this.defaultSchema;
    return { kind, schema, name, parent: `${schema}.${table.name}` };
  }

  /** Identity argument types of a routine's parameter list (OUT and TABLE parameters excluded). */
  routineArgs(parameters: readonly Node[] | undefined): string[] {
    const args: string[] = [];
    for (const p of parameters ?? []) {
      const param = (p as { FunctionParameter?: FunctionParameter }).FunctionParameter;
      if (!param?.argType || !IDENTITY_MODES.has(param.mode ?? 'FUNC_PARAM_DEFAULT')) continue;
      args.push(this.typeText(param.argType));
    }
    return args;
  }

  /** A type as it appears in a routine's identity (`integer`, `character varying`, `sales.money_t`). */
  typeText(type: TypeName): string {
    return formatTypeName(type, this.defaultSchema);
  }

  /** Key of a routine named with its arguments (`f(int)`), or without them (`f`: args undefined). */
  routine(kind: ObjectKind, owa: ObjectWithArgs): ObjectKey {
    const key = this.named(kind, nameList(owa.objname));
    if (!owa.args_unspecified) {
      key.args = (owa.objargs ?? []).map((n) => this.typeText((n as { TypeName: TypeName }).TypeName));
    }
    return key;
  }

  /**
   * Key of the object that COMMENT, GRANT, DROP or ALTER ... (RENAME, OWNER, SET SCHEMA) addresses, from its
   * object type and object node (`List` of names, `String`, `TypeName`, `ObjectWithArgs`, `RangeVar`).
   * Null for objects dbee does not track (roles, databases, languages...).
   */
  ofObject(type: ObjectType | undefined, object: Node | undefined): ObjectKey | null {
    const kind = kindOfObjectType(type);
    if (!kind || !object) return null;
    const o = object as Record<string, any>;
    if (o['ObjectWithArgs']) return this.routine(kind, o['ObjectWithArgs'] as ObjectWithArgs);
    if (o['RangeVar']) return this.relation(kind, o['RangeVar'] as RangeVar);
    if (type === 'OBJECT_DOMCONSTRAINT') {
      // COMMENT ON CONSTRAINT c ON DOMAIN d: a list of the domain's TypeName and the constraint name.
      const typeName = (o['List']?.items?.[0] as { TypeName?: TypeName } | undefined)?.TypeName;
      return typeName ? this.named('domain', nameList(typeName.names)) : null;
    }
    const names = objectNames(object);
    if (names.length === 0) return null;
    switch (type) {
      case 'OBJECT_SCHEMA':
      case 'OBJECT_EXTENSION':
        return this.global(kind, names[names.length - 1]!);
      case 'OBJECT_COLUMN':
      case 'OBJECT_TABCONSTRAINT':
        return this.named(kind, names.slice(0, -1));
      case 'OBJECT_TRIGGER':
      case 'OBJECT_POLICY': {
        const table = names.slice(0, -1);
        return this.child(
          kind,
          { schema: table.length >= 2 ? table[table.length - 2] : undefined, name: table[table.length - 1] ?? '' },
          names[names.length - 1]!,
        );
      }
      default:
        return this.named(kind, names);
    }
  }
}

/** The name list of an object node: `List` of `String`, a `String`, or a `TypeName`. */
export function objectNames(object: Node): string[] {
  const o = object as Record<string, any>;
  if (o['List']) return nameList(o['List'].items);
  if (o['TypeName']) return nameList((o['TypeName'] as TypeName).names);
  const s = stringValue(object);
  return s === undefined ? [] : [s];
}
