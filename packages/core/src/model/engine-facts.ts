import type { DeferrableConstraint, ParsedStatement, ParseOptions } from './source';

/*
 * The parts of the engine contract (`engine/engine.ts`) that the layers below the engine read: how its parser reads
 * sources and names keys, and what it knows about its own SQL. Data and interfaces only; `engine/engine.ts` re-exports
 * them.
 */

/** See `EngineCapabilities.keyNames`. */
export interface KeyNameRules {
  unquoted: 'upper' | 'lower' | 'exact';
  quoted: 'upper' | 'lower' | 'exact';
}

/**
 * How an engine parses sources: the engine's real parser (PostgreSQL: libpg-query), or its own
 * splitter and classifier (Teradata). Throws `DbeeError` with file, line and column on a syntax error.
 */
export interface SourceParser {
  parse(text: string, file: string, options: ParseOptions): Promise<ParsedStatement[]>;
  /**
   * Remove several foreign keys from one CREATE TABLE (to add them after the tables of a cycle). Optional: only a
   * parser that reports `ParsedStatement.deferrable` needs it, and without it the planner splits one key per table
   * and refuses more (Teradata reports none).
   */
  removeConstraints?(createTable: string, constraints: DeferrableConstraint[]): string;
  /**
   * Make statements read back from the parse cache (`JSON.parse` of what `parse` returned, serialised) whole again,
   * where the parser serialises some of what it computes on demand in a compact form. Absent: they are used as read.
   */
  revive?(statements: ParsedStatement[]): Promise<ParsedStatement[]>;
}

/**
 * What an engine knows about its own SQL that core's generic analyzers (differ, hazards) need, handed to them as
 * data so that core holds no engine facts. Example values are PostgreSQL's (`packages/postgres/src/introspect/postgres-facts.ts`).
 */
export interface EngineFacts {
  /** Built-in functions whose result differs on every call, lower case: a column default using one is evaluated per row (`random`, `nextval`). */
  volatileFunctions: ReadonlySet<string>;
  /** Spellings of a type name → the one the analyzers compare, lower case: `int4` → `integer`, `character varying` → `varchar`. */
  typeAliases: Readonly<Record<string, string>>;
  /** The function a column default calls to draw from a sequence (a serial column), lower case: `nextval`. */
  sequenceFunction: string;
  /**
   * Roles every database has, and words that stand for a role without naming one, as a case-insensitive pattern:
   * a shadow database never makes them (PostgreSQL: `public`, `current_user`, `current_role`, `pg_*`...).
   */
  builtInRoles: RegExp;
  /**
   * Schemas of the engine's own catalog, which every database has and no copy makes (PostgreSQL's catalog schema,
   * `information_schema`, its toast schema...). Absent: none.
   */
  systemSchemas?: RegExp;
  /**
   * What changing a column's type from `from` to `to` (both as `typeAliases` spell them after `parseType`) does:
   * whether the table is rewritten, and why values may be lost or rejected (null when every value converts exactly).
   */
  typeChange(from: ParsedType, to: ParsedType): { rewrite: boolean; loss: string | null };
  /**
   * Privileges older servers do not know, with the first server version (`SchemaModel.serverVersion`) that does:
   * PostgreSQL 17's `MAINTAIN`, which `GRANT ALL` gives there (`{ MAINTAIN: 170000 }`). A desired model built on a
   * newer server than the target (an embedded shadow) is planned without them. Absent: every server knows every one.
   */
  privilegesSince?: Readonly<Record<string, number>>;
}

/** A column type split into base name, modifiers and array-ness (see `parseType`). */
export interface ParsedType {
  /** The base type as `EngineFacts.typeAliases` names it, e.g. `varchar`, `numeric`, `timestamptz`. */
  base: string;
  /** Type modifiers, e.g. `[10]` for varchar(10), `[12, 2]` for numeric(12,2). */
  mods: number[];
  array: boolean;
}
