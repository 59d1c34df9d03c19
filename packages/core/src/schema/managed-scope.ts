import { formatKey, type ObjectKey } from '../model/object-key';
import { objectGlobPattern } from '../model/object-glob';
import type { PrivilegeGrant, SchemaModel } from './model';

/**
 * What dbee manages in a project's schemas (db.yaml `manage:`). What is outside it is never read into a model, so it
 * is never diffed, revoked or dropped, and the engine's fingerprint (drift) leaves it out too.
 */
export interface ManagedScope {
  /**
   * Grantees whose privileges are compared, as role names (`PUBLIC` for PUBLIC); null: every grantee
   * (`grants: all`); empty: none (`grants: false`). The default (`grants: true`) is the roles the project's sources
   * name in a GRANT or REVOKE: a grant a DBA gives to a role the sources never mention is left alone.
   */
  grantees: string[] | null;
  /** Owners are compared (`owners: true`); default false. */
  owners: boolean;
  /** Comments are compared; default true. */
  comments: boolean;
  /**
   * Objects left alone, as anchored regular expressions (POSIX-compatible) over `kind:schema.name`, made from the
   * `ignore:` globs by {@link ignorePattern}. An ignored table takes its indexes, triggers and owned sequences along.
   */
  ignore: string[];
}

/** A part of a database to read: schemas, and what of them is managed. */
export interface SchemaScope {
  /** Schemas (PostgreSQL) or databases (Teradata) to read. */
  schemas: string[];
  /** What is managed there; absent: everything. */
  manage?: ManagedScope;
  /**
   * Schemas/databases as deployed → as the sources write them, for `extract` to write placeholders back
   * (Teradata: `{ DEV_EDW: '{{env}}_EDW' }`). Absent: names are written as they are.
   */
  sourceNames?: Record<string, string>;
  /**
   * Read only the relations, routines and types of these names (`schema.name`; a table takes its constraints, indexes
   * and triggers along), the schemas, extensions and the rest of the scope whole: the live side of a diff narrowed to
   * what changed (`diffing/narrow.ts`). Absent: everything. An engine may read more; the caller keeps what it asked for.
   */
  names?: readonly string[];
  /**
   * Also read plain aggregates, as routines of kind `aggregate` whose definition is their `CREATE AGGREGATE`: a scratch
   * copy of the target (a verified dry run) needs them, since its views and routines call them. The differ does not
   * compare aggregates yet (extract writes them from the catalog), so a diff's sides leave them out. Default false.
   */
  aggregates?: boolean;
}

/**
 * The part of a database that belongs to a project: its schemas and what of them it manages. One function for every
 * reader that must agree: a diff's live side, the base fingerprint a gap plan records, and the freshness check
 * that compares it at deploy time (a hash over another scope never matches).
 */
export function projectScope(graph: { schemas: string[]; manage?: ManagedScope }): SchemaScope {
  return { schemas: graph.schemas, ...(graph.manage ? { manage: graph.manage } : {}) };
}

/** `manage:` of db.yaml, as written. */
export interface ManageConfig {
  grants?: boolean | 'all';
  owners?: boolean;
  comments?: boolean;
  ignore?: string[];
}

/** An `ignore:` glob as an anchored regular expression over `kind:schema.name` ({@link objectGlobPattern}). */
export const ignorePattern = objectGlobPattern;

/** Role names the statements grant to or revoke from (`GRANT ... TO a, b`, `REVOKE ... FROM "Weird"`). */
export function grantees(statements: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const raw of statements) {
    const sql = raw.replace(/--[^\n]*/g, ' ').replace(/\/\*[\s\S]*?\*\//g, ' ');
    const m =
      /^\s*(?:ALTER\s+DEFAULT\s+PRIVILEGES\b[\s\S]*?\b)?(GRANT|REVOKE)\b[\s\S]*?\b(?:TO|FROM)\s+([\s\S]+)$/i.exec(sql);
    if (!m) continue;
    const list = m[2]!.split(/\bWITH\s+(?:GRANT|ADMIN|INHERIT|SET)\s+OPTION\b|\bGRANTED\s+BY\b|;/i)[0]!;
    for (let item of list.split(',')) {
      item = item
        .trim()
        .replace(/\s+(CASCADE|RESTRICT)$/i, '')
        .replace(/^GROUP\s+/i, '')
        .trim();
      if (!item) continue;
      if (/^"(?:[^"]|"")+"$/.test(item)) out.add(item.slice(1, -1).replace(/""/g, '"'));
      else if (/^public$/i.test(item)) out.add('PUBLIC');
      else if (!/^(CURRENT_USER|SESSION_USER|CURRENT_ROLE)$/i.test(item)) out.add(item.toLowerCase());
    }
  }
  return [...out].sort();
}

/** The managed scope of a project from its `manage:` settings and the statements of its sources. */
export function managedScope(config: ManageConfig | undefined, statements: Iterable<string>): ManagedScope {
  const grants = config?.grants ?? true;
  return {
    grantees: grants === 'all' ? null : grants === false ? [] : grantees(statements),
    owners: config?.owners ?? false,
    comments: config?.comments ?? true,
    ignore: (config?.ignore ?? []).map(ignorePattern),
  };
}

/**
 * A model without what the scope does not manage: ignored objects (and what hangs on them), privileges of other
 * grantees, owners and comments when they are not managed. Applied to both sides of a diff, so neither sees it.
 */
export function restrictModel(model: SchemaModel, scope: ManagedScope | undefined): SchemaModel {
  if (!scope) return model;
  const patterns = scope.ignore.map((p) => new RegExp(p));
  const idOf = (k: ObjectKey) => `${k.kind}:${k.schema}.${k.name}`;
  const matches = (id: string) => patterns.some((p) => p.test(id));
  const ignored = new Set<string>();
  const isIgnored = (k: ObjectKey): boolean => {
    if (matches(idOf(k))) return true;
    if (!k.parent) return false;
    return ['table', 'view', 'materialized-view'].some((kind) => matches(`${kind}:${k.parent}`));
  };
  if (patterns.length) {
    for (const list of [
      model.schemas,
      model.extensions,
      model.collations ?? [],
      model.textSearchDictionaries ?? [],
      model.textSearchConfigurations ?? [],
      model.tables,
      model.views,
      model.routines,
      model.triggers,
      model.sequences,
      model.types,
      model.indexes,
    ]) {
      for (const o of list as { key: ObjectKey }[]) if (isIgnored(o.key)) ignored.add(formatKey(o.key));
    }
    for (const s of model.sequences)
      if (s.ownedBy && ignored.has(formatKey(s.ownedBy.table))) ignored.add(formatKey(s.key));
  }
  const keep = <T extends { key: ObjectKey }>(list: T[]) =>
    ignored.size ? list.filter((o) => !ignored.has(formatKey(o.key))) : list;
  const keepTarget = <T extends { target: ObjectKey }>(list: T[]) =>
    ignored.size ? list.filter((o) => !ignored.has(formatKey(o.target))) : list;
  const who = scope.grantees === null ? null : new Set(scope.grantees);
  const defaults: SchemaModel['defaultPrivileges'] = {};
  for (const [kind, grants] of Object.entries(model.defaultPrivileges) as [ObjectKey['kind'], PrivilegeGrant[]][]) {
    defaults[kind] = who ? grants.filter((g) => who.has(g.grantee)) : grants;
  }
  return {
    schemas: keep(model.schemas),
    extensions: keep(model.extensions),
    ...(model.collations ? { collations: keep(model.collations) } : {}),
    ...(model.textSearchDictionaries ? { textSearchDictionaries: keep(model.textSearchDictionaries) } : {}),
    ...(model.textSearchConfigurations ? { textSearchConfigurations: keep(model.textSearchConfigurations) } : {}),
    tables: keep(model.tables),
    views: keep(model.views),
    routines: keep(model.routines),
    triggers: keep(model.triggers),
    sequences: keep(model.sequences),
    types: keep(model.types),
    indexes: keep(model.indexes),
    comments: scope.comments ? keepTarget(model.comments) : [],
    privileges: keepTarget(model.privileges).filter((p) => !who || who.has(p.grantee)),
    owners: scope.owners ? keepTarget(model.owners) : [],
    defaultPrivileges: defaults,
    ...(model.serverVersion !== undefined ? { serverVersion: model.serverVersion } : {}),
    ...(model.schemaDefaults ? { schemaDefaults: model.schemaDefaults } : {}),
    ...(model.unmodelled ? { unmodelled: model.unmodelled } : {}),
    ...(model.nearSchemas ? { nearSchemas: model.nearSchemas } : {}),
  };
}
