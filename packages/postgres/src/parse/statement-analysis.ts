import type {
  ColumnDefinition,
  DeferrableConstraint,
  ObjectKey,
  ObjectKind,
  Reference,
  StatementAction,
} from '@dbee/core';
// Not `@dbee/core`'s index, which loads every module of core (zod and yaml with them) into the engine's start.
import { DbeeError } from '@dbee/core/errors';
import { isPresentSchema } from '../shadow/new-database';
import type {
  AlterTableCmd,
  ColumnDef,
  Constraint,
  CreateFunctionStmt,
  CreateStmt,
  DefElem,
  IndexElem,
  IndexStmt,
  Node,
  ObjectType,
  RangeVar,
  TypeName,
} from '@pgsql/types';
import { SERIAL_TYPES } from './builtins';
import { columnOf, primaryKeyColumns, viewColumns } from './columns';
import { chooseName, nameAddition } from './default-names';
import { CreateTableText, deferrableConstraints, foreignKeysOf } from './foreign-keys';
import { kindOfObjectType } from './object-keys';
import { nameList, splitQualified, stringValue } from './names';
import {
  makeReference,
  referenceKindOf,
  ReferenceSink,
  visitRangeVar,
  visitTypeName,
  walk,
  type WalkScope,
} from './references';
import { analyzePlpgsqlBody, analyzeSqlBody, locateBody } from './routine-bodies';
import type { StatementContext } from './statement-context';

/** What the analysis of one statement's parse tree yields. */
export interface StatementAnalysis {
  key: ObjectKey | null;
  action: StatementAction;
  references: Reference[];
  transactional: boolean;
  deferrable?: DeferrableConstraint[];
  /** See `ParsedStatement.constraintIndexes`. */
  constraintIndexes?: string[];
  /** See `ParsedStatement.columns`. */
  columns?: ColumnDefinition[];
  /** See `ParsedStatement.serialSequences`. */
  serialSequences?: string[];
}

type AnyNode = Record<string, any>;

/** DefElem names whose argument names a function (aggregates, ranges, base types). */
const FUNCTION_OPTIONS: ReadonlySet<string> = new Set([
  'sfunc',
  'finalfunc',
  'combinefunc',
  'serialfunc',
  'deserialfunc',
  'msfunc',
  'minvfunc',
  'mfinalfunc',
  'canonical',
  'subtype_diff',
  'input',
  'output',
  'receive',
  'send',
  'typmod_in',
  'typmod_out',
  'analyze',
  'subscript',
]);
/** DefElem names whose argument names a type. */
const TYPE_OPTIONS: ReadonlySet<string> = new Set(['stype', 'mstype', 'subtype', 'basetype', 'element', 'like']);

/**
 * The name PostgreSQL gives a serial column's sequence (`makeObjectName`): `<table>_<column>_seq`, the longer of the
 * two names cut until it fits 63 bytes. (A name taken already gets a number, which the sources cannot know.)
 */
export function serialSequenceName(table: string, column: string): string {
  let a = Buffer.byteLength(table);
  let b = Buffer.byteLength(column);
  while (a + b > 63 - '_seq'.length - 1) {
    if (a > b) a--;
    else b--;
  }
  const cut = (s: string, n: number) => {
    let out = '';
    for (const ch of s) {
      if (Buffer.byteLength(out + ch) > n) break;
      out += ch;
    }
    return out;
  };
  return `${cut(table, a)}_${cut(column, b)}_seq`;
}

/** Classify one statement and collect its references. */
export function analyzeStatement(node: Node, ctx: StatementContext): StatementAnalysis {
  const [type, body] = unwrap(node);
  const analyzer = new Analyzer(ctx);
  return analyzer.run(type, body);
}

function unwrap(node: unknown): [string, AnyNode] {
  const o = node as AnyNode;
  for (const k in o) return [k, o[k] as AnyNode];
  return ['', {}];
}

/** `ALTER TABLE` subcommands that set one named trigger's enabled state. */
const TRIGGER_STATES = new Set(['AT_EnableTrig', 'AT_DisableTrig', 'AT_EnableReplicaTrig', 'AT_EnableAlwaysTrig']);

class Analyzer {
  private key: ObjectKey | null = null;
  private action: StatementAction = 'other';
  private transactional = true;
  private sink: ReferenceSink;
  private deferrable?: DeferrableConstraint[];
  private readonly constraintIndexes: string[] = [];
  private readonly serialSequences: string[] = [];
  private columns?: ColumnDefinition[];

  constructor(private readonly ctx: StatementContext) {
    this.sink = new ReferenceSink(null, ctx.keys.defaultSchema);
  }

  private get keys() {
    return this.ctx.keys;
  }

  /** Set the statement's object; references to a created object from its own statement are dropped. */
  private define(key: ObjectKey | null, action: StatementAction): void {
    this.key = key;
    this.action = key ? action : 'other';
    if (key && (action === 'create' || action === 'create-or-replace'))
      this.sink = new ReferenceSink(key, this.keys.defaultSchema);
  }

  /** A statement that acts on an existing object refers to it (alter, comment, grant). */
  private target(key: ObjectKey | null, action: StatementAction, location?: number): void {
    this.define(key, action);
    if (key) this.referTo(key, action, location);
  }

  private referTo(key: ObjectKey, via: string, location?: number): void {
    const schema = key.schema === '' ? undefined : key.schema;
    const extra = key.args ? { args: key.args } : undefined;
    this.sink.add(makeReference(referenceKindOf(key.kind), schema, key.name, via, this.ctx.frame, location, extra));
  }

  private scope(via: string): WalkScope {
    return { sink: this.sink, frame: this.ctx.frame, via, ctes: [] };
  }

  private walk(node: unknown, via: string): void {
    walk(node, this.scope(via));
  }

  private relationRef(rv: RangeVar | undefined, via: string, extra?: { foreignKey?: boolean }): void {
    if (rv) visitRangeVar(rv, this.scope(via), extra);
  }

  private typeRef(type: TypeName | undefined, via: string): void {
    if (type) visitTypeName(type, this.scope(via));
  }

  run(type: string, n: AnyNode): StatementAnalysis {
    switch (type) {
      case 'CreateSchemaStmt':
        this.createSchema(n);
        break;
      case 'CreateExtensionStmt':
        this.createExtension(n);
        break;
      case 'CreateStmt':
        this.createTable(n as CreateStmt);
        break;
      case 'CreateForeignTableStmt':
        this.createTable(n['base'] as CreateStmt);
        break;
      case 'CreateTableAsStmt': {
        const matview = n['objtype'] === 'OBJECT_MATVIEW';
        this.define(this.keys.relation(matview ? 'materialized-view' : 'table', n['into']?.rel ?? {}), 'create');
        this.walk(n['query'], matview ? 'materialized view' : 'query');
        this.columns = viewColumns(n['query'], n['into']?.colNames, this.ctx.frame);
        break;
      }
      case 'ViewStmt':
        this.define(this.keys.relation('view', n['view'] ?? {}), n['replace'] ? 'create-or-replace' : 'create');
        this.walk(n['query'], 'view');
        this.columns = viewColumns(n['query'], n['aliases'], this.ctx.frame);
        break;
      case 'CreateFunctionStmt':
        this.createFunction(n as CreateFunctionStmt);
        break;
      case 'DefineStmt':
        this.defineStmt(n);
        break;
      case 'CreateTrigStmt':
        this.createTrigger(n);
        break;
      case 'IndexStmt':
        this.createIndex(n as IndexStmt);
        break;
      case 'CreateSeqStmt':
        this.define(this.keys.relation('sequence', n['sequence'] ?? {}), 'create');
        this.sequenceOptions(n['options']);
        break;
      case 'AlterSeqStmt':
        this.target(this.keys.relation('sequence', n['sequence'] ?? {}), 'alter', n['sequence']?.location);
        this.sequenceOptions(n['options']);
        break;
      case 'CompositeTypeStmt':
        this.define(this.keys.relation('type', n['typevar'] ?? {}), 'create');
        for (const c of n['coldeflist'] ?? []) this.column(c['ColumnDef'], 'attribute type');
        break;
      case 'CreateEnumStmt':
        this.define(this.keys.named('type', nameList(n['typeName'])), 'create');
        break;
      case 'CreateRangeStmt':
        this.define(this.keys.named('type', nameList(n['typeName'])), 'create');
        this.definitionOptions(n['params']);
        break;
      case 'CreateDomainStmt':
        this.define(this.keys.named('domain', nameList(n['domainname'])), 'create');
        this.typeRef(n['typeName'], 'base type');
        if (n['collClause']) this.walk({ collClause: n['collClause'] }, 'collation');
        this.walk(n['constraints'], 'check');
        break;
      case 'CreatePolicyStmt':
      case 'AlterPolicyStmt': {
        const table = n['table'] as RangeVar;
        const key = this.keys.child(
          'policy',
          { schema: table.schemaname, name: table.relname ?? '' },
          n['policy_name'] ?? '',
        );
        if (type === 'CreatePolicyStmt') this.define(key, 'create');
        else this.target(key, 'alter');
        this.relationRef(table, 'policy');
        this.walk([n['qual'], n['with_check']], 'policy');
        break;
      }
      case 'AlterTableStmt':
        this.alterTable(n);
        break;
      case 'AlterFunctionStmt': {
        const kind: ObjectKind = n['objtype'] === 'OBJECT_PROCEDURE' ? 'procedure' : 'function';
        this.target(this.keys.routine(kind, n['func'] ?? {}), 'alter');
        break;
      }
      case 'AlterEnumStmt':
        this.target(this.keys.named('type', nameList(n['typeName'])), 'alter');
        // A new enum value cannot be used in the transaction that added it.
        if (n['newVal'] !== undefined && n['oldVal'] === undefined) this.transactional = false;
        break;
      case 'AlterDomainStmt':
        this.target(this.keys.named('domain', nameList(n['typeName'])), 'alter');
        this.walk(n['def'], 'check');
        break;
      case 'AlterTSConfigurationStmt':
        this.target(this.keys.named('text-search-configuration', nameList(n['cfgname'])), 'alter');
        for (const d of n['dicts'] ?? []) this.textSearchRef('text search dictionary', nameList(d?.List?.items));
        break;
      case 'AlterTSDictionaryStmt':
        this.target(this.keys.named('text-search-dictionary', nameList(n['dictname'])), 'alter');
        break;
      case 'AlterExtensionStmt':
      case 'AlterExtensionContentsStmt':
        this.target(this.keys.global('extension', n['extname'] ?? ''), 'alter');
        break;
      case 'RenameStmt':
        this.target(this.renameTarget(n), 'alter', n['relation']?.location);
        break;
      case 'AlterObjectSchemaStmt':
      case 'AlterOwnerStmt':
        this.target(this.objectTarget(n['objectType'], n['object'], n['relation']), 'alter', n['relation']?.location);
        break;
      case 'CommentStmt':
        this.target(this.keys.ofObject(n['objtype'], n['object']), 'comment');
        break;
      case 'GrantStmt':
        this.grant(n);
        break;
      case 'DropStmt':
        this.drop(n);
        break;
      case 'DoStmt':
        this.doBlock(n);
        break;
      default:
        this.other(type, n);
    }
    const analysis: StatementAnalysis = {
      key: this.key,
      action: this.action,
      references: this.sink.list,
      transactional: this.transactional,
    };
    if (this.deferrable?.length) analysis.deferrable = this.deferrable;
    if (this.constraintIndexes.length) analysis.constraintIndexes = this.constraintIndexes;
    if (this.serialSequences.length) analysis.serialSequences = this.serialSequences;
    if (this.columns?.length) analysis.columns = this.columns;
    return analysis;
  }

  private createSchema(n: AnyNode): void {
    const name: string = n['schemaname'] ?? n['authrole']?.rolename ?? '';
    // `public` is in every new database: a plain CREATE fails on each (the shadow, a new target, every scratch copy).
    if (isPresentSchema(name) && !n['if_not_exists'])
      throw new DbeeError(`CREATE SCHEMA ${name}: every new PostgreSQL database has schema ${name} already`, {
        code: 'SCHEMA_ALWAYS_PRESENT',
        location: this.ctx.location,
        hint: `write CREATE SCHEMA IF NOT EXISTS ${name}, or leave the statement out (its GRANT, REVOKE and COMMENT statements may stay): dbee treats ${name} as the database has it`,
      });
    this.define(this.keys.global('schema', name), 'create');
  }

  private createExtension(n: AnyNode): void {
    this.define(this.keys.global('extension', n['extname'] ?? ''), 'create');
    for (const o of n['options'] ?? []) {
      const d = o['DefElem'] as DefElem | undefined;
      const schema = d?.defname === 'schema' ? stringValue(d.arg) : undefined;
      if (schema)
        this.sink.add(makeReference('schema', undefined, schema, 'extension schema', this.ctx.frame, d!.location));
    }
  }

  private createTable(n: CreateStmt): void {
    const key = this.keys.relation('table', n.relation ?? {});
    this.define(key, 'create');
    const inherits = n.partbound ? 'partition of' : 'inherits';
    for (const r of n.inhRelations ?? []) this.relationRef((r as AnyNode)['RangeVar'], inherits);
    this.typeRef(n.ofTypename, 'of type');
    const fkTargets = new Map<Constraint, Reference>();
    for (const e of n.tableElts ?? []) {
      const el = e as AnyNode;
      if (el['ColumnDef']) this.column(el['ColumnDef'], 'column type', fkTargets);
      else if (el['Constraint']) this.constraint(el['Constraint'], fkTargets);
      if (el['ColumnDef']) this.addColumn(el['ColumnDef']);
      else if (el['TableLikeClause']) this.relationRef(el['TableLikeClause'].relation, 'like');
    }
    for (const e of n.tableElts ?? []) if (this.columns) primaryKeyColumns(this.columns, (e as AnyNode)['Constraint']);
    this.walk(n.partspec, 'partition key');
    const fks = foreignKeysOf(n);
    if (fks.length > 0) this.deferrable = this.splitForeignKeys(n, key, fks, fkTargets);
  }

  private splitForeignKeys(
    n: CreateStmt,
    key: ObjectKey,
    fks: ReturnType<typeof foreignKeysOf>,
    targets: Map<Constraint, Reference>,
  ): DeferrableConstraint[] | undefined {
    const { source, start, sql } = this.ctx;
    const refs = fks.map((fk) => targets.get(fk.constraint) ?? this.fkTarget(fk.constraint));
    return deferrableConstraints(
      () => new CreateTableText(sql, n, (b) => source.indexOfByte(b) - start),
      key,
      fks,
      refs,
    );
  }

  /** The reference to a foreign key's table, also when the sink dropped it (a table referencing itself). */
  private fkTarget(c: Constraint): Reference {
    const rv = c.pktable ?? {};
    return makeReference('relation', rv.schemaname, rv.relname ?? '', 'foreign key', this.ctx.frame, rv.location, {
      foreignKey: true,
    });
  }

  private column(c: ColumnDef | undefined, via: string, fkTargets?: Map<Constraint, Reference>): void {
    if (!c) return;
    this.typeRef(c.typeName, via);
    if (c.collClause) this.walk({ collClause: c.collClause }, 'collation');
    this.walk(c.raw_default, 'default');
    for (const k of c.constraints ?? []) this.constraint((k as AnyNode)['Constraint'], fkTargets);
  }

  /** A column the statement gives its table (CREATE TABLE, ALTER TABLE ... ADD COLUMN). */
  private addColumn(c: ColumnDef): void {
    (this.columns ??= []).push(columnOf(c, this.ctx.frame, this.keys.defaultSchema));
    const type = (c.typeName?.names ?? []).map((x) => (x as AnyNode)['String']?.sval as string | undefined);
    const serial = type.length === 1 || (type.length === 2 && type[0] === 'pg_catalog');
    if (serial && SERIAL_TYPES.has(type[type.length - 1] ?? '') && this.key && c.colname)
      this.serialSequences.push(serialSequenceName(this.key.name, c.colname));
  }

  private constraint(c: Constraint | undefined, fkTargets?: Map<Constraint, Reference>): void {
    // A named primary key, unique or exclusion constraint makes an index of its name (ALTER INDEX may name it).
    if (
      c?.conname &&
      !c.indexname &&
      (c.contype === 'CONSTR_PRIMARY' || c.contype === 'CONSTR_UNIQUE' || c.contype === 'CONSTR_EXCLUSION')
    )
      this.constraintIndexes.push(c.conname);
    switch (c?.contype) {
      case 'CONSTR_DEFAULT':
        this.walk(c.raw_expr, 'default');
        break;
      case 'CONSTR_CHECK':
        this.walk(c.raw_expr, 'check');
        break;
      case 'CONSTR_GENERATED':
        this.walk(c.raw_expr, 'generated column');
        break;
      case 'CONSTR_EXCLUSION':
        this.walk([c.exclusions, c.where_clause], 'constraint');
        break;
      case 'CONSTR_FOREIGN': {
        const target = this.fkTarget(c);
        fkTargets?.set(c, target);
        this.sink.add(target);
        break;
      }
      default:
    }
  }

  private createFunction(n: CreateFunctionStmt): void {
    const kind: ObjectKind = n.is_procedure ? 'procedure' : 'function';
    const key = this.keys.named(kind, nameList(n.funcname));
    key.args = this.keys.routineArgs(n.parameters);
    this.define(key, n.replace ? 'create-or-replace' : 'create');
    for (const p of n.parameters ?? []) {
      const param = (p as AnyNode)['FunctionParameter'];
      this.typeRef(param?.argType, param?.mode === 'FUNC_PARAM_TABLE' ? 'return type' : 'argument type');
      this.walk(param?.defexpr, 'default');
    }
    this.typeRef(n.returnType, 'return type');
    let language: string | undefined;
    let as: DefElem | undefined;
    for (const o of n.options ?? []) {
      const d = (o as AnyNode)['DefElem'] as DefElem | undefined;
      if (d?.defname === 'language') language = stringValue(d.arg)?.toLowerCase();
      else if (d?.defname === 'as') as = d;
    }
    if (n.sql_body) {
      this.walk(n.sql_body, 'body');
      return;
    }
    const items = (as?.arg as AnyNode | undefined)?.['List']?.items as Node[] | undefined;
    const content = stringValue(items?.[0]);
    if (content === undefined || items!.length > 1) return;
    const what = `${kind} ${key.schema}.${key.name}`;
    if (language === 'sql') analyzeSqlBody(this.ctx, locateBody(this.ctx, as!.location, content), this.sink, what);
    else if (language === 'plpgsql')
      analyzePlpgsqlBody(this.ctx, locateBody(this.ctx, as!.location, content), this.sink, what);
  }

  private doBlock(n: AnyNode): void {
    let language = 'plpgsql';
    let as: DefElem | undefined;
    for (const o of n['args'] ?? []) {
      const d = o['DefElem'] as DefElem | undefined;
      if (d?.defname === 'language') language = stringValue(d.arg)?.toLowerCase() ?? language;
      else if (d?.defname === 'as') as = d;
    }
    const content = stringValue(as?.arg);
    if (language === 'plpgsql' && content !== undefined) {
      analyzePlpgsqlBody(this.ctx, locateBody(this.ctx, as!.location, content), this.sink, 'DO block');
    }
  }

  /** CREATE AGGREGATE, CREATE TYPE (base or shell), CREATE OPERATOR, ... */
  private defineStmt(n: AnyNode): void {
    const names = nameList(n['defnames']);
    if (n['kind'] === 'OBJECT_AGGREGATE') {
      const key = this.keys.named('aggregate', names);
      const params = n['args']?.[0]?.List?.items as Node[] | undefined;
      key.args = this.keys.routineArgs(params);
      this.define(key, n['replace'] ? 'create-or-replace' : 'create');
      for (const p of params ?? []) this.typeRef((p as AnyNode)['FunctionParameter']?.argType, 'argument type');
    } else if (n['kind'] === 'OBJECT_TYPE') {
      this.define(this.keys.named('type', names), 'create');
    } else if (n['kind'] === 'OBJECT_COLLATION') {
      this.define(this.keys.named('collation', names), 'create');
      // CREATE COLLATION c FROM other: the collation it copies.
      for (const o of n['definition'] ?? []) {
        const d = (o as AnyNode)['DefElem'] as DefElem | undefined;
        const from = d?.defname === 'from' ? nameList((d.arg as AnyNode)?.['List']?.items ?? (d.arg as AnyNode)) : [];
        if (from.length) {
          const { schema, name } = splitQualified(from);
          this.sink.add(makeReference('object', schema, name, 'collation', this.ctx.frame, d!.location));
        }
      }
      return;
    } else if (n['kind'] === 'OBJECT_TSDICTIONARY' || n['kind'] === 'OBJECT_TSCONFIGURATION') {
      const dictionary = n['kind'] === 'OBJECT_TSDICTIONARY';
      this.define(
        this.keys.named(dictionary ? 'text-search-dictionary' : 'text-search-configuration', names),
        'create',
      );
      // TEMPLATE = t of a dictionary; PARSER = p or COPY = c of a configuration: what it is made from.
      const from: Record<string, string> = {
        template: 'text search template',
        parser: 'text search parser',
        copy: 'text search configuration',
      };
      for (const o of n['definition'] ?? []) {
        const d = (o as AnyNode)['DefElem'] as DefElem | undefined;
        const via = from[d?.defname ?? ''];
        const type = (d?.arg as AnyNode | undefined)?.['TypeName'] as TypeName | undefined;
        if (via && type) this.textSearchRef(via, nameList(type.names), type.location);
      }
      return;
    }
    this.definitionOptions(n['definition']);
  }

  /** A text search object named by a statement (a dictionary, a template...); those of pg_catalog are dropped. */
  private textSearchRef(via: string, names: string[], location?: number): void {
    if (!names.length) return;
    const { schema, name } = splitQualified(names);
    this.sink.add(makeReference('object', schema, name, via, this.ctx.frame, location));
  }

  /** `sfunc = f`, `stype = t`, `subtype = float8`...: the functions and types a definition names. */
  private definitionOptions(options: Node[] | undefined): void {
    for (const o of options ?? []) {
      const d = (o as AnyNode)['DefElem'] as DefElem | undefined;
      const type = (d?.arg as AnyNode | undefined)?.['TypeName'] as TypeName | undefined;
      if (!d || !type) continue;
      const option = d.defname ?? '';
      if (FUNCTION_OPTIONS.has(option)) {
        const { schema, name } = splitQualified(nameList(type.names));
        this.sink.add(makeReference('function', schema, name, option, this.ctx.frame, type.location));
      } else if (TYPE_OPTIONS.has(option)) {
        this.typeRef(type, option);
      }
    }
  }

  private createTrigger(n: AnyNode): void {
    const table = n['relation'] as RangeVar;
    this.define(
      this.keys.child('trigger', { schema: table.schemaname, name: table.relname ?? '' }, n['trigname'] ?? ''),
      n['replace'] ? 'create-or-replace' : 'create',
    );
    this.relationRef(table, 'trigger');
    const { schema, name } = splitQualified(nameList(n['funcname']));
    // A trigger function takes no arguments.
    this.sink.add(makeReference('function', schema, name, 'trigger', this.ctx.frame, undefined, { args: [] }));
    this.walk(n['whenClause'], 'trigger');
    this.relationRef(n['constrrel'], 'trigger');
  }

  private createIndex(n: IndexStmt): void {
    const table = n.relation ?? {};
    const name = n.idxname ?? defaultIndexName(n);
    this.define(this.keys.child('index', { schema: table.schemaname, name: table.relname ?? '' }, name), 'create');
    if (n.concurrent) this.transactional = false;
    this.relationRef(table, 'index');
    this.walk([n.indexParams, n.indexIncludingParams, n.whereClause], 'index');
  }

  private sequenceOptions(options: Node[] | undefined): void {
    for (const o of options ?? []) {
      const d = (o as AnyNode)['DefElem'] as DefElem | undefined;
      if (d?.defname === 'owned_by') {
        const names = nameList((d.arg as AnyNode)?.['List']?.items);
        if (names.length >= 2) {
          const { schema, name } = splitQualified(names.slice(0, -1));
          this.sink.add(makeReference('relation', schema, name, 'owned by', this.ctx.frame, d.location));
        }
      } else if (d?.defname === 'as') {
        this.typeRef((d.arg as AnyNode)?.['TypeName'], 'sequence type');
      }
    }
  }

  private alterTable(n: AnyNode): void {
    const objtype = n['objtype'] as ObjectType;
    const kind = objtype === 'OBJECT_TYPE' ? 'type' : (kindOfObjectType(objtype) ?? 'table');
    const rv = (n['relation'] ?? {}) as RangeVar;
    const cmds = ((n['cmds'] ?? []) as AnyNode[]).map((c) => c['AlterTableCmd'] as AlterTableCmd | undefined);
    const only = cmds.length === 1 ? (cmds[0]?.def as AnyNode | undefined)?.['Constraint'] : undefined;
    if (kind === 'table' && only?.indexname && only.conname) {
      // ADD CONSTRAINT ... USING INDEX: an object of its own (the constraint), after the table and the index it takes.
      this.define(
        this.keys.child('constraint', { schema: rv.schemaname, name: rv.relname ?? '' }, only.conname),
        'create',
      );
      this.relationRef(rv, 'constraint of');
      this.sink.add(makeReference('object', rv.schemaname, only.indexname, 'using index', this.ctx.frame, rv.location));
      return;
    }
    const clusterOn = cmds.length === 1 && cmds[0]?.subtype === 'AT_ClusterOn' ? cmds[0].name : undefined;
    if ((kind === 'table' || kind === 'materialized-view') && clusterOn) {
      // ALTER TABLE ... CLUSTER ON idx (or ALTER MATERIALIZED VIEW), in the relation's file as psql runs it and pg_dump
      // prints it: a statement on the index (as ALTER INDEX is, see README), so that it runs once the index exists, or
      // with the table whose constraint makes it.
      this.target(this.keys.relation('index', { ...rv, relname: clusterOn }), 'alter', rv.location);
      this.relationRef(rv, 'cluster on');
      return;
    }
    const trigger =
      cmds.length === 1 && cmds[0] && TRIGGER_STATES.has(cmds[0].subtype ?? '') ? cmds[0].name : undefined;
    if (kind === 'table' && trigger) {
      // ALTER TABLE ... DISABLE TRIGGER trg (ENABLE REPLICA, ALWAYS), after the CREATE TRIGGER as extract writes it: a
      // statement of the trigger, run once it exists (with the table, it ran before, and failed). No reference to the
      // trigger by name: one names no table, and would reach every trigger of that name (eVaka's 23 set_timestamp).
      this.define(this.keys.child('trigger', { schema: rv.schemaname, name: rv.relname ?? '' }, trigger), 'alter');
      this.relationRef(rv, 'trigger of');
      return;
    }
    this.target(this.keys.relation(kind, rv), 'alter', rv.location);
    if (kind === 'index') {
      // ALTER INDEX ... ATTACH PARTITION: after both indexes (ALTER INDEX names no table, see README).
      this.sink.add(makeReference('object', rv.schemaname, rv.relname ?? '', 'index', this.ctx.frame, rv.location));
    }
    const fks = cmds
      .map((cmd) => (cmd?.def as AnyNode | undefined)?.['Constraint'] as Constraint | undefined)
      .filter((c) => c?.contype === 'CONSTR_FOREIGN');
    if (kind === 'table' && cmds.length === 1 && fks.length === 1) {
      // A foreign key added by its own statement: in a cycle, the planner moves the statement after both tables.
      this.deferrable = [
        { target: this.fkTarget(fks[0]!), addStatement: this.ctx.sql, statementWithout: '', standalone: true },
      ];
    }
    for (const cmd of cmds) {
      const def = cmd?.def as AnyNode | undefined;
      if (!cmd || !def) continue;
      if (def['ColumnDef']) {
        this.column(def['ColumnDef'], 'column type');
        if (cmd.subtype === 'AT_AddColumn' && kind === 'table') this.addColumn(def['ColumnDef']);
      } else if (def['Constraint']) {
        this.constraint(def['Constraint']);
      } else if (def['PartitionCmd']) {
        if (kind === 'index') {
          const part = def['PartitionCmd'].name as RangeVar | undefined;
          this.sink.add(
            makeReference(
              'object',
              part?.schemaname,
              part?.relname ?? '',
              'partition index',
              this.ctx.frame,
              part?.location,
            ),
          );
          continue;
        }
        this.relationRef(def['PartitionCmd'].name, 'partition');
        if (def['PartitionCmd'].concurrent) this.transactional = false;
      } else if (def['RangeVar']) {
        this.relationRef(def['RangeVar'], 'inherits');
      } else if (cmd.subtype === 'AT_ColumnDefault') {
        this.walk(def, 'default');
      } else {
        this.walk(def, 'alter');
      }
    }
  }

  private renameTarget(n: AnyNode): ObjectKey | null {
    const renameType = n['renameType'] as ObjectType;
    const rv = n['relation'] as RangeVar | undefined;
    if (rv && (renameType === 'OBJECT_TRIGGER' || renameType === 'OBJECT_POLICY')) {
      return this.keys.child(
        renameType === 'OBJECT_TRIGGER' ? 'trigger' : 'policy',
        { schema: rv.schemaname, name: rv.relname ?? '' },
        n['subname'] ?? '',
      );
    }
    if (rv && (renameType === 'OBJECT_COLUMN' || renameType === 'OBJECT_TABCONSTRAINT')) {
      return this.objectTarget(n['relationType'], undefined, rv);
    }
    return this.objectTarget(renameType, n['object'], rv);
  }

  private objectTarget(
    type: ObjectType | undefined,
    object: Node | undefined,
    rv: RangeVar | undefined,
  ): ObjectKey | null {
    if (rv) {
      const kind = kindOfObjectType(type);
      return kind ? this.keys.relation(kind, rv) : null;
    }
    return this.keys.ofObject(type, object);
  }

  private grant(n: AnyNode): void {
    const objects = (n['objects'] ?? []) as Node[];
    if (n['targtype'] !== 'ACL_TARGET_OBJECT') {
      // GRANT ... ON ALL TABLES IN SCHEMA s: the schema.
      const schema = stringValue(objects[0]);
      this.target(schema ? this.keys.global('schema', schema) : null, 'grant');
      return;
    }
    const keys = objects.map((o) => this.keys.ofObject(n['objtype'], o));
    this.define(keys[0] ?? null, 'grant');
    objects.forEach((o, i) => {
      const key = keys[i];
      if (key) this.referTo(key, 'grant', (o as AnyNode)['RangeVar']?.location);
    });
  }

  private drop(n: AnyNode): void {
    const objects = (n['objects'] ?? []) as Node[];
    this.define(objects[0] ? this.keys.ofObject(n['removeType'], objects[0]) : null, 'drop');
    if (n['concurrent']) this.transactional = false;
  }

  /** Statements that define nothing: their references still order them after what they use (DML in migrations). */
  private other(type: string, n: AnyNode): void {
    switch (type) {
      case 'VacuumStmt':
        if (n['is_vacuumcmd']) this.transactional = false;
        return;
      case 'ReindexStmt':
        if ((n['params'] ?? []).some((p: AnyNode) => p['DefElem']?.defname === 'concurrently'))
          this.transactional = false;
        if (n['kind'] === 'REINDEX_OBJECT_SYSTEM' || n['kind'] === 'REINDEX_OBJECT_DATABASE')
          this.transactional = false;
        return;
      case 'CreatedbStmt':
      case 'DropdbStmt':
      case 'AlterSystemStmt':
      case 'CreateTableSpaceStmt':
      case 'DropTableSpaceStmt':
      case 'CreateSubscriptionStmt':
      case 'DropSubscriptionStmt':
        this.transactional = false;
        return;
      case 'AlterDatabaseStmt':
        if ((n['options'] ?? []).some((p: AnyNode) => p['DefElem']?.defname === 'tablespace'))
          this.transactional = false;
        return;
      default:
        this.walk(n, 'statement');
    }
  }
}

/**
 * PostgreSQL's name for an unnamed index: `<table>_<columns>_idx` (`_pkey`, `_key`, `_excl` for constraints); an
 * expression column is named after its function or column, else `expr`. Collisions with existing relations are not
 * known here.
 */
function defaultIndexName(n: IndexStmt): string {
  const columns = (n.indexParams ?? []).map((p) => indexColumnName((p as AnyNode)['IndexElem']));
  // CREATE UNIQUE INDEX gives `_idx` too: `_key` and `_excl` are for constraints.
  const label = n.primary ? 'pkey' : !n.isconstraint ? 'idx' : (n.excludeOpNames?.length ?? 0) > 0 ? 'excl' : 'key';
  return chooseName(n.relation?.relname ?? '', nameAddition(columns), label, new Set());
}

function indexColumnName(e: IndexElem | undefined): string {
  if (!e) return 'expr';
  if (e.indexcolname) return e.indexcolname;
  if (e.name) return e.name;
  return figureColname(e.expr) ?? 'expr';
}

/** The part of PostgreSQL's FigureColname that index names use: a function's or column's name. */
function figureColname(expr: Node | undefined): string | undefined {
  const e = expr as AnyNode | undefined;
  if (!e) return undefined;
  if (e['FuncCall']) return nameList(e['FuncCall'].funcname).pop();
  if (e['ColumnRef']) return stringValue((e['ColumnRef'].fields as Node[] | undefined)?.slice(-1)[0]);
  if (e['TypeCast']) return figureColname(e['TypeCast'].arg) ?? nameList(e['TypeCast'].typeName?.names).pop();
  if (e['CoalesceExpr']) return 'coalesce';
  return undefined;
}
