import type { ObjectKey, ObjectKind, Reference, ReferenceKind } from '@dbee/core';
import type { FuncCall, Node, RangeVar, TypeName, WithClause } from '@pgsql/types';
import { BUILTIN_FUNCTIONS } from './builtins';
import type { Frame } from './frame';
import { nameList, parseQualifiedName, splitQualified } from './names';
import { isBuiltinType, SYSTEM_SCHEMAS } from './type-names';

const RELATION_KINDS: ReadonlySet<ObjectKind> = new Set(['table', 'view', 'materialized-view', 'index']);
const FUNCTION_KINDS: ReadonlySet<ObjectKind> = new Set(['function', 'procedure', 'aggregate']);
const TYPE_KINDS: ReadonlySet<ObjectKind> = new Set(['type', 'domain']);

/** The reference kind under which other statements point at an object of this kind. */
export function referenceKindOf(kind: ObjectKind): ReferenceKind {
  if (RELATION_KINDS.has(kind)) return 'relation';
  if (FUNCTION_KINDS.has(kind)) return 'function';
  if (TYPE_KINDS.has(kind)) return 'type';
  if (kind === 'sequence' || kind === 'schema') return kind;
  return 'object';
}

/**
 * The references of one statement: drops those into system schemas and the statement's own object (a recursive
 * function, a self-referencing foreign key), and keeps the first of identical references.
 */
export class ReferenceSink {
  readonly list: Reference[] = [];
  private readonly seen = new Set<string>();

  /**
   * @param self the object the statement creates, when references to it should be ignored.
   * @param defaultSchema the schema that unqualified names of `self` were given.
   */
  constructor(
    private readonly self: ObjectKey | null,
    private readonly defaultSchema: string,
  ) {}

  add(ref: Reference): void {
    if (ref.name === '' || (ref.schema !== undefined && SYSTEM_SCHEMAS.has(ref.schema))) return;
    if (this.isSelf(ref)) return;
    const id = `${ref.kind}\u0000${ref.schema ?? ''}\u0000${ref.name}\u0000${ref.args?.join(',') ?? '-'}\u0000${ref.foreignKey ? 1 : 0}`;
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.list.push(ref);
  }

  private isSelf(ref: Reference): boolean {
    const self = this.self;
    if (!self || self.parent !== undefined || ref.name !== self.name) return false;
    if ((ref.schema ?? this.defaultSchema) !== self.schema) return false;
    return referenceKindOf(self.kind) === ref.kind;
  }
}

/** A reference with its optional fields set only when they have a value. */
export function makeReference(
  kind: ReferenceKind,
  schema: string | undefined,
  name: string,
  via: string,
  frame: Frame,
  location: number | undefined,
  extra?: { args?: string[]; foreignKey?: boolean },
): Reference {
  const ref: Reference = schema === undefined ? { kind, name } : { kind, schema, name };
  if (extra?.args) ref.args = extra.args;
  ref.via = via;
  if (extra?.foreignKey) ref.foreignKey = true;
  ref.location = frame.locate(location);
  return ref;
}

/** What a walk over a subtree reports its references as. */
export interface WalkScope {
  sink: ReferenceSink;
  frame: Frame;
  /** Reason recorded on each reference (`view`, `default`, `body`...). */
  via: string;
  /** Names of common table expressions visible at this point: unqualified relations with these names are not references. */
  ctes: string[][];
}

/** Fields that hold a TypeName without the `{ TypeName: ... }` wrapper. */
const TYPE_NAME_FIELDS: ReadonlySet<string> = new Set(['typeName', 'argType', 'returnType', 'ofTypename']);
/** Sequence functions whose first argument names a sequence. */
const SEQUENCE_FUNCTIONS: ReadonlySet<string> = new Set(['nextval', 'currval', 'setval']);

/**
 * Collect the relations, functions, sequences and types used anywhere in a subtree of a raw parse tree:
 * relations (RangeVar) in FROM, JOIN, subqueries and DML targets, except names of enclosing common table
 * expressions; function calls; casts and column types naming non-built-in types; `nextval('seq')`.
 */
export function walk(value: unknown, scope: WalkScope): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const v of value) walk(v, scope);
    return;
  }
  const obj = value as Record<string, unknown>;
  const withClause = obj['withClause'] as WithClause | undefined;
  const scoped = withClause !== undefined && (withClause.ctes?.length ?? 0) > 0;
  if (scoped) scope.ctes.push(cteNames(withClause));
  for (const key in obj) {
    const child = obj[key];
    if (child === null || typeof child !== 'object') continue;
    if (key === 'RangeVar' || (key === 'relation' && isRangeVar(child))) {
      visitRangeVar(child as RangeVar, scope);
    } else if (key === 'TypeName' || (TYPE_NAME_FIELDS.has(key) && isTypeName(child))) {
      visitTypeName(child as TypeName, scope);
    } else if (key === 'CollateClause' || key === 'collClause') {
      // `COLLATE s.c` in a column definition or an expression: the collation comes first.
      visitCollation(child as { collname?: Node[]; location?: number }, scope);
      walk(child, scope);
    } else if (key === 'TypeCast') {
      // `'app.english_unaccent'::regconfig`: the literal names a text search configuration.
      visitTextSearchCast(child as { arg?: Node; typeName?: TypeName }, scope);
      walk(child, scope);
    } else if (key === 'FuncCall' || (key === 'funccall' && isFuncCall(child))) {
      visitFuncCall(child as FuncCall, scope);
      walk(child, scope);
    } else {
      walk(child, scope);
    }
  }
  if (scoped) scope.ctes.pop();
}

function cteNames(withClause: WithClause): string[] {
  const names: string[] = [];
  for (const n of withClause.ctes ?? []) {
    const name = (n as { CommonTableExpr?: { ctename?: string } }).CommonTableExpr?.ctename;
    if (name) names.push(name);
  }
  return names;
}

function isRangeVar(v: object): boolean {
  return typeof (v as RangeVar).relname === 'string';
}

function isFuncCall(v: object): boolean {
  return Array.isArray((v as FuncCall).funcname);
}

function isTypeName(v: object): boolean {
  return Array.isArray((v as TypeName).names);
}

/** A relation used by the statement (`FROM s.t`), unless it is a common table expression or a system catalog. */
export function visitRangeVar(rv: RangeVar, scope: WalkScope, extra?: { foreignKey?: boolean; via?: string }): void {
  const name = rv.relname;
  if (!name) return;
  const schema = rv.schemaname;
  if (schema === undefined) {
    if (scope.ctes.some((names) => names.includes(name))) return;
    // Unqualified pg_* names are system catalogs and views (pg_catalog is searched first).
    if (name.startsWith('pg_')) return;
  }
  scope.sink.add(makeReference('relation', schema, name, extra?.via ?? scope.via, scope.frame, rv.location, extra));
}

/** A type used by name (column type, cast, argument): `%TYPE` names a relation's column, built-ins are skipped. */
export function visitTypeName(type: TypeName, scope: WalkScope, via = scope.via): void {
  const names = nameList(type.names);
  if (names.length === 0) return;
  if (type.pct_type) {
    // `t.col%TYPE` (or `s.t.col%TYPE`) depends on the relation; `var%TYPE` (PL/pgSQL) on nothing.
    if (names.length >= 2) {
      const rel = splitQualified(names.slice(0, -1));
      scope.sink.add(makeReference('relation', rel.schema, rel.name, via, scope.frame, type.location));
    }
    return;
  }
  if (isBuiltinType(names)) return;
  const { schema, name } = splitQualified(names);
  scope.sink.add(makeReference('type', schema, name, via, scope.frame, type.location));
}

/** A collation named by a COLLATE clause (built-in ones live in pg_catalog, or are unqualified and never found). */
function visitCollation(clause: { collname?: Node[]; location?: number }, scope: WalkScope): void {
  const names = nameList(clause.collname);
  if (names.length === 0) return;
  const { schema, name } = splitQualified(names);
  scope.sink.add(makeReference('object', schema, name, 'collation', scope.frame, clause.location));
}

/** Types whose literal names a text search object, and the `via` of the reference it makes. */
const TEXT_SEARCH_TYPES: Record<string, string> = {
  regconfig: 'text search configuration',
  regdictionary: 'text search dictionary',
};

/**
 * Text search functions whose first argument names a configuration (`to_tsvector('app.cfg', body)`) when they are
 * called with at least that many arguments (the shorter forms use `default_text_search_config`), and `ts_lexize`, whose
 * first names a dictionary.
 */
const TEXT_SEARCH_FUNCTIONS: Record<string, { args: number; via: string }> = {
  to_tsvector: { args: 2, via: 'text search configuration' },
  to_tsquery: { args: 2, via: 'text search configuration' },
  plainto_tsquery: { args: 2, via: 'text search configuration' },
  phraseto_tsquery: { args: 2, via: 'text search configuration' },
  websearch_to_tsquery: { args: 2, via: 'text search configuration' },
  json_to_tsvector: { args: 3, via: 'text search configuration' },
  jsonb_to_tsvector: { args: 3, via: 'text search configuration' },
  ts_headline: { args: 4, via: 'text search configuration' },
  ts_debug: { args: 2, via: 'text search configuration' },
  ts_lexize: { args: 2, via: 'text search dictionary' },
};

/** `'s.name'::regconfig` (or `::regdictionary`): the literal names a text search object. */
function visitTextSearchCast(cast: { arg?: Node; typeName?: TypeName }, scope: WalkScope): void {
  const names = nameList(cast.typeName?.names);
  const type = names[names.length - 1];
  if (!type || (names.length > 1 && names[0] !== 'pg_catalog')) return;
  const via = TEXT_SEARCH_TYPES[type];
  if (via) visitNameLiteral(cast.arg, via, scope);
}

/** A string literal holding an object's (possibly qualified) name, as a reference. */
function visitNameLiteral(arg: Node | undefined, via: string, scope: WalkScope): void {
  const literal = (arg as Record<string, any> | undefined)?.['A_Const'];
  const text: unknown = literal?.sval?.sval;
  if (typeof text !== 'string') return;
  const names = parseQualifiedName(text);
  if (!names) return;
  const { schema, name } = splitQualified(names);
  scope.sink.add(makeReference('object', schema, name, via, scope.frame, literal.location));
}

function visitFuncCall(call: FuncCall, scope: WalkScope): void {
  const names = nameList(call.funcname);
  if (names.length === 0) return;
  const { schema, name } = splitQualified(names);
  if (schema === undefined || schema === 'pg_catalog') {
    if (SEQUENCE_FUNCTIONS.has(name)) visitSequenceArgument(call.args?.[0], scope);
    const textSearch = TEXT_SEARCH_FUNCTIONS[name];
    // A first argument cast to regconfig is the cast's reference already.
    if (textSearch && (call.args?.length ?? 0) >= textSearch.args)
      visitNameLiteral(call.args![0], textSearch.via, scope);
    if (schema === undefined && BUILTIN_FUNCTIONS.has(name)) return;
  }
  scope.sink.add(makeReference('function', schema, name, scope.via, scope.frame, call.location));
}

/** `nextval('s.seq')` and `nextval('s.seq'::regclass)`: the literal names a sequence. */
function visitSequenceArgument(arg: Node | undefined, scope: WalkScope): void {
  let node = arg as Record<string, any> | undefined;
  if (node?.['TypeCast']) node = node['TypeCast'].arg;
  const literal = node?.['A_Const'];
  const text: unknown = literal?.sval?.sval;
  if (typeof text !== 'string') return;
  const names = parseQualifiedName(text);
  if (!names) return;
  const { schema, name } = splitQualified(names);
  scope.sink.add(makeReference('sequence', schema, name, scope.via, scope.frame, literal.location));
}
