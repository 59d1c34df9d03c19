import type { ObjectKey } from '../model/object-key';

/**
 * The engine-neutral schema model: what a database contains, read back from the engine's catalog (live model)
 * or from a scratch database built from the sources (desired model). Two models of this shape are compared by
 * `diffModels`, whichever side they come from.
 *
 * Text fields that hold expressions or definitions (`default`, `definition`, `type`...) are exactly as the
 * engine prints them, so both sides of a diff are normalised by the engine itself and can be compared as
 * strings. Engine-specific details live in `attrs`; the differ compares `attrs` as plain data.
 */
export interface SchemaModel {
  schemas: SchemaDef[];
  tables: Table[];
  /** Views and materialized views (`key.kind` tells which). */
  views: View[];
  /** Functions and procedures (`key.kind` tells which). Aggregates are not modelled. */
  routines: Routine[];
  triggers: Trigger[];
  sequences: Sequence[];
  /** Enums, composite types, ranges (`key.kind: 'type'`) and domains (`key.kind: 'domain'`). */
  types: TypeDef[];
  /** Indexes that are not the implementation of a constraint (those live on `Table.constraints`). */
  indexes: Index[];
  comments: Comment[];
  /** Effective privileges, the object owner's own privileges excluded. */
  privileges: Privilege[];
  owners: Owner[];
  extensions: Extension[];
  /** Collations defined in the schemas (PostgreSQL); absent where an engine has none. */
  collations?: Collation[];
  /** Text search dictionaries defined in the schemas (PostgreSQL); absent where an engine has none. */
  textSearchDictionaries?: TextSearchDictionary[];
  /** Text search configurations defined in the schemas (PostgreSQL); absent where an engine has none. */
  textSearchConfigurations?: TextSearchConfiguration[];
  /**
   * Privileges a newly created object of a kind has before any GRANT (PostgreSQL: EXECUTE on routines and
   * USAGE on types and domains for PUBLIC). The differ starts from these when it grants on a created object.
   */
  defaultPrivileges: Partial<Record<ObjectKey['kind'], PrivilegeGrant[]>>;
  /**
   * The version of the server the model was read from, as the engine numbers it (PostgreSQL: `server_version_num`,
   * e.g. `150004`); absent for a model not read from a database. A plan to it leaves out what that server does not
   * know (`EngineFacts.privilegesSince`), whichever server the other side was built on.
   */
  serverVersion?: number;
  /**
   * The privileges objects created later in a schema get (PostgreSQL: `ALTER DEFAULT PRIVILEGES [FOR ROLE r] IN SCHEMA s
   * GRANT ...`, `pg_default_acl`). Read so that a comparison of two databases names where they differ; not planned
   * or compared as objects (docs/diff.md). Absent where the engine has none or none are set.
   */
  schemaDefaults?: SchemaDefaultPrivilege[];
  /**
   * Objects in the schemas of classes the model does not hold (PostgreSQL: extended statistics, rules, aggregates,
   * operators, operator classes and families, foreign tables, publications, event triggers), read so that a comparison
   * names on its `not compared:` line each one that is not the same on both sides; never planned. Absent when none.
   */
  unmodelled?: UnmodelledObject[];
  /**
   * Schemas of the database, outside the model, whose names differ from a schema read only in case (`Sales` beside
   * `sales`): what a schema name typed without its quotes most likely meant, for the error that says so. Absent when
   * none.
   */
  nearSchemas?: string[];
}

/** One object of a class the model does not hold (`SchemaModel.unmodelled`). */
export interface UnmodelledObject {
  schema: string;
  /** Its class, e.g. `extended statistics`, `rule`, `aggregate`. */
  what: string;
  /** Its name as SQL spells it, with what tells it apart (`r on t`, `agg(integer)`). */
  name: string;
  /** Its definition as the engine prints it, or what stands for it; null when its name says all that is read. */
  definition: string | null;
}

/** One grantee's default privileges on one kind of object created by `role` in `schema`. */
export interface SchemaDefaultPrivilege {
  schema: string;
  /** The role whose new objects get them (`FOR ROLE`). */
  role: string;
  /** `tables`, `sequences`, `functions`, `types` or `schemas`. */
  on: string;
  grantee: string;
  privileges: string[];
  grantable: string[];
}

/** Engine-specific details, compared as data by the differ (e.g. PostgreSQL `reloptions`, Teradata `primaryIndex`). */
export type Attrs = Record<string, unknown>;

/** Fields every modelled object has. */
export interface SchemaObject {
  key: ObjectKey;
  /**
   * Objects this one needs to exist (types of its columns, functions in its defaults, relations a view reads...),
   * excluding its schema and, for triggers and indexes, its parent table. Used to order creates and drops and to
   * find what must be recreated when this object's dependencies are dropped or changed.
   */
  dependsOn: ObjectKey[];
  attrs: Attrs;
}

export interface SchemaDef extends SchemaObject {}

export interface Extension extends SchemaObject {
  /** Installed version, e.g. `1.3`. */
  version: string;
}

/** A collation object (`CREATE COLLATION`), as the catalog holds it. */
export interface Collation extends SchemaObject {
  /** `libc`, `icu` or `builtin` (PostgreSQL 17+). */
  provider: 'libc' | 'icu' | 'builtin';
  /** LC_COLLATE and LC_CTYPE of a libc collation, e.g. `C`, `en_US.utf8`; null when the provider does not use them. */
  lcCollate: string | null;
  lcCtype: string | null;
  /** Locale of an ICU or builtin collation, e.g. `und-u-ks-level2`; null for libc. */
  locale: string | null;
  /** False for a nondeterministic collation (`deterministic = false`: equal strings compare by the collation only). */
  deterministic: boolean;
  /** ICU tailoring rules (PostgreSQL 16+); null when none. */
  rules: string | null;
}

/** A text search dictionary (`CREATE TEXT SEARCH DICTIONARY`), as the catalog holds it. */
export interface TextSearchDictionary extends SchemaObject {
  /** Its template, qualified as the catalog prints it, e.g. the built-in snowball template, or `public.unaccent`. */
  template: string;
  /** Its options as the catalog prints them, e.g. `language = 'english', stopwords = 'english'`; null when none. */
  options: string | null;
}

/** Dictionaries a text search configuration consults for one token type, in order. */
export interface TextSearchMapping {
  /** Token type alias of the configuration's parser, e.g. `asciiword`, `hword_part`. */
  token: string;
  /** Dictionaries, qualified as the catalog prints them, e.g. `['public.unaccent', 'english_stem']`. */
  dictionaries: string[];
}

/** A text search configuration (`CREATE TEXT SEARCH CONFIGURATION`): its parser and its token mappings. */
export interface TextSearchConfiguration extends SchemaObject {
  /** Its parser, qualified as the catalog prints it, e.g. the built-in `"default"` parser in the system schema. */
  parser: string;
  /** One entry per mapped token type, in the parser's token order. */
  mappings: TextSearchMapping[];
}

export type IdentityKind = 'always' | 'by-default';

export interface Column {
  name: string;
  /** Type as the engine prints it, e.g. `character varying(20)`, `numeric(10,2)`, `public.status`. */
  type: string;
  /** Default expression text, e.g. `now()`, `'new'::text`; null when none. */
  default: string | null;
  /** `GENERATED ... AS IDENTITY`; null when the column is not an identity column. */
  identity: IdentityKind | null;
  /** Expression of a generated column, e.g. `(price * qty)`; null when not generated. */
  generated: string | null;
  /** Collation when it is not the type's default, e.g. `"C"` as the catalog qualifies it; null otherwise. */
  collation: string | null;
  notNull: boolean;
  /** 1-based ordinal among the table's columns. Informational: the differ does not reorder columns. */
  position: number;
  /** Objects the column's type, default or generation expression need. */
  dependsOn: ObjectKey[];
  attrs: Attrs;
}

export type ConstraintKind = 'primary-key' | 'unique' | 'check' | 'foreign-key' | 'exclusion';

export type ReferentialAction = 'no-action' | 'restrict' | 'cascade' | 'set-null' | 'set-default';

export interface ForeignKeyReference {
  /** Referenced table. */
  table: ObjectKey;
  columns: string[];
  onUpdate: ReferentialAction;
  onDelete: ReferentialAction;
  /** `simple` (default), `full` or `partial`. */
  match: 'simple' | 'full' | 'partial';
}

export interface Constraint {
  name: string;
  kind: ConstraintKind;
  /** Constrained columns, in constraint order (empty for checks and exclusion on expressions). */
  columns: string[];
  /** Check expression text, e.g. `(qty > 0)`; null for other kinds. */
  expression: string | null;
  /** Present for foreign keys. */
  references: ForeignKeyReference | null;
  deferrable: boolean;
  initiallyDeferred: boolean;
  /**
   * Full definition as the engine prints it (PostgreSQL: `pg_get_constraintdef`), without any `NOT VALID`
   * marker (PostgreSQL keeps that state in `attrs.notValid`), e.g. `FOREIGN KEY (customer_id) REFERENCES sales.customers(id) ON DELETE CASCADE`.
   */
  definition: string;
  /** Objects the constraint needs besides its table (functions in a check; the referenced table). */
  dependsOn: ObjectKey[];
  attrs: Attrs;
}

export interface Table extends SchemaObject {
  columns: Column[];
  constraints: Constraint[];
}

export interface Index extends SchemaObject {
  /** `key.parent` is the indexed table or materialized view as `schema.name`. */
  table: ObjectKey;
  unique: boolean;
  /** Key columns that are plain columns; expression keys are not listed. */
  columns: string[];
  /** Partial index predicate, e.g. `(status = 'open'::text)`; null when the index is not partial. */
  predicate: string | null;
  /** True when at least one key is an expression. */
  expression: boolean;
  /** Full definition as the engine prints it (PostgreSQL: `pg_get_indexdef`). */
  definition: string;
}

export interface ViewColumn {
  name: string;
  type: string;
}

export interface ColumnRef {
  table: ObjectKey;
  column: string;
}

export interface View extends SchemaObject {
  /** Query text as the engine prints it (PostgreSQL: `pg_get_viewdef`). */
  definition: string;
  columns: ViewColumn[];
  /** Table columns the view reads, when the engine can tell (PostgreSQL: yes, through pg_depend). */
  dependsOnColumns: ColumnRef[];
}

export interface Routine extends SchemaObject {
  /** Identity arguments as the engine prints them, e.g. `a integer, b text`. */
  identityArgs: string;
  /** Full argument list with modes, names and defaults, e.g. `a integer, b text DEFAULT 'x'::text`. */
  arguments: string;
  /** Result type, e.g. `integer`, `SETOF sales.orders`, `TABLE(id integer)`; empty for procedures. */
  returnType: string;
  language: string;
  /** Complete definition text, e.g. `CREATE OR REPLACE FUNCTION ...` as `pg_get_functiondef` prints it. */
  definition: string;
  /** `immutable`, `stable` or `volatile`. */
  volatility: 'immutable' | 'stable' | 'volatile';
}

export interface Trigger extends SchemaObject {
  /** `key.parent` is the table or view as `schema.name`. */
  table: ObjectKey;
  /** The trigger function. */
  function: ObjectKey;
  /** Full definition (PostgreSQL: `pg_get_triggerdef`). */
  definition: string;
  /** True for constraint triggers, which cannot be replaced in place. */
  constraintTrigger: boolean;
}

export interface Sequence extends SchemaObject {
  dataType: string;
  /** Numbers as decimal strings: 64-bit values do not fit a JavaScript number. */
  start: string;
  increment: string;
  min: string;
  max: string;
  cache: string;
  cycle: boolean;
  /** `OWNED BY` column; null when the sequence is free-standing. */
  ownedBy: ColumnRef | null;
}

export interface CompositeAttribute {
  name: string;
  type: string;
  collation: string | null;
}

export interface DomainCheck {
  name: string;
  /** Definition as printed by the engine, e.g. `CHECK (VALUE > 0)`. */
  definition: string;
}

export type TypeDef =
  | (SchemaObject & { variant: 'enum'; values: string[] })
  | (SchemaObject & { variant: 'composite'; attributes: CompositeAttribute[] })
  | (SchemaObject & {
      variant: 'domain';
      baseType: string;
      default: string | null;
      notNull: boolean;
      collation: string | null;
      checks: DomainCheck[];
    })
  | (SchemaObject & { variant: 'range'; subtype: string });

/** A comment on an object, or on one of a table's columns or constraints. */
export interface Comment {
  target: ObjectKey;
  column?: string;
  constraint?: string;
  text: string;
}

/** Privileges a grantee holds on one object (or one column of a table). */
export interface Privilege {
  target: ObjectKey;
  column?: string;
  /** Role name, or `PUBLIC`. */
  grantee: string;
  /** Upper-case privilege names, sorted, e.g. `['INSERT', 'SELECT']`. */
  privileges: string[];
  /** The subset of `privileges` held WITH GRANT OPTION. */
  grantable: string[];
}

export interface PrivilegeGrant {
  grantee: string;
  privileges: string[];
}

export interface Owner {
  target: ObjectKey;
  owner: string;
}

/** A model with nothing in it: the `from` side when deploying to an empty database. */
export function emptyModel(): SchemaModel {
  return {
    schemas: [],
    tables: [],
    views: [],
    routines: [],
    triggers: [],
    sequences: [],
    types: [],
    indexes: [],
    comments: [],
    privileges: [],
    owners: [],
    extensions: [],
    collations: [],
    textSearchDictionaries: [],
    textSearchConfigurations: [],
    defaultPrivileges: {},
  };
}
