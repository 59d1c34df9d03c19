import { formatKey, type ObjectKey } from '../model/object-key';
import type { SourceLocation } from '../model/source';
import type { ObjectStatement, SourceObject } from '../planner/objects';
import type { Index, Routine, SchemaModel, Table, View } from '../schema/model';

/** A migration as the rules read it: its statements with their places, and whether it has a rollback script. */
export interface PolicyMigration {
  /** Workspace-relative file of the migration. */
  file: string;
  statements: ReadonlyArray<{ sql: string; location: SourceLocation }>;
  /** True when the migration has a paired rollback script with at least one statement. */
  hasRollback: boolean;
}

/**
 * What the rules judge: the desired model of a project's schemas (read back from the shadow, so names and types are
 * the engine's own), where each object is defined in the sources, and the migrations. `judged` narrows it to the
 * change (new and changed objects, pending migrations); `--all` judges everything.
 */
export class PolicySubject {
  private readonly sources: ReadonlyMap<string, SourceObject>;
  private readonly judgedIds: ReadonlySet<string> | 'all';
  /** The sources' routines by kind and name, first of a name (built on the first routine whose key is not found). */
  private routinesByName?: Map<string, SourceObject>;

  constructor(
    /** The desired model of the project's schemas. */
    readonly model: SchemaModel,
    objects: readonly SourceObject[],
    /** The migrations judged (pending ones, or every one with `--all`). */
    readonly migrations: readonly PolicyMigration[],
    /** Ids (`formatKey`) of the objects judged, or `all`. A table's indexes, triggers and comments count as the table. */
    judged: ReadonlySet<string> | 'all',
  ) {
    this.sources = new Map(objects.map((o) => [o.id, o]));
    this.judgedIds = judged;
  }

  /** Whether the object is judged: `--all`, or it (or the table it belongs to) is new or changed. */
  judges(key: ObjectKey): boolean {
    if (this.judgedIds === 'all') return true;
    if (this.judgedIds.has(formatKey(key))) return true;
    if (key.parent)
      return this.judgedIds.has(`table:${key.parent}`) || this.judgedIds.has(`materialized-view:${key.parent}`);
    return false;
  }

  /** Judged tables, partitions left out (a partition has its parent's columns and keys; its parent is judged). */
  tables(): Table[] {
    return this.model.tables.filter((t) => this.judges(t.key) && typeof t.attrs['partitionOf'] !== 'string');
  }

  /** Judged views and materialized views. */
  views(): View[] {
    return this.model.views.filter((v) => this.judges(v.key));
  }

  /** Judged functions and procedures. */
  routines(): Routine[] {
    return this.model.routines.filter((r) => this.judges(r.key));
  }

  /** Judged indexes (on a judged table, or changed themselves), partitions' own indexes left out. */
  indexes(): Index[] {
    const partitions = new Set(
      this.model.tables
        .filter((t) => typeof t.attrs['partitionOf'] === 'string')
        .map((t) => `${t.key.schema}.${t.key.name}`),
    );
    return this.model.indexes.filter((i) => this.judges(i.key) && !partitions.has(i.key.parent ?? ''));
  }

  /** Every index of a table (judged or not): what the index rules compare a new index or a foreign key with. */
  indexesOf(table: ObjectKey): Index[] {
    const name = `${table.schema}.${table.name}`;
    return this.model.indexes.filter((i) => i.key.parent === name);
  }

  /** The table of a key, judged or not. */
  table(key: ObjectKey): Table | undefined {
    return this.model.tables.find((t) => t.key.schema === key.schema && t.key.name === key.name);
  }

  /** Where the object is defined in the sources; null when it has no source (found only in the database). */
  location(key: ObjectKey): SourceLocation | null {
    return this.source(key)?.location ?? null;
  }

  /** The object's statements in the sources (create first), or none. */
  statements(key: ObjectKey): readonly ObjectStatement[] {
    return this.source(key)?.statements ?? [];
  }

  /**
   * Where a name (a column, a constraint) first appears in the object's defining statement, as a location: the line of
   * `price numeric` in a CREATE TABLE. The object's own location when the name is not found.
   */
  locate(key: ObjectKey, name: string | undefined): SourceLocation | null {
    const source = this.source(key);
    if (!source) return null;
    if (!name) return source.location;
    // Else an object of that name in the same schema (an index or a constraint written in a file of its own).
    const named = [...this.sources.values()].find(
      (o) => o !== source && o.key.schema === key.schema && o.key.name === name && o.key.kind !== key.kind,
    );
    return wordIn(source, name) ?? (named ? (wordIn(named, name) ?? named.location) : source.location);
  }

  private source(key: ObjectKey): SourceObject | undefined {
    const found = this.sources.get(formatKey(key));
    if (found) return found;
    // A routine's key carries its argument types as the engine prints them; the sources may spell them otherwise.
    if (key.kind !== 'function' && key.kind !== 'procedure') return undefined;
    this.routinesByName ??= new Map(
      [...this.sources.values()]
        .filter((o) => o.key.kind === 'function' || o.key.kind === 'procedure')
        .reverse()
        .map((o) => [`${o.key.kind}:${o.key.schema}.${o.key.name}`, o]),
    );
    return this.routinesByName.get(`${key.kind}:${key.schema}.${key.name}`);
  }
}

/** Where `word` first appears in the object's statements, or null. */
function wordIn(source: SourceObject, word: string): SourceLocation | null {
  for (const st of source.statements) {
    const at = findWord(st.sql, word);
    if (at < 0) continue;
    const lines = st.sql.slice(0, at).split('\n');
    const line = st.location.line + lines.length - 1;
    const column = lines.length === 1 ? st.location.column + at : lines[lines.length - 1]!.length + 1;
    return { file: st.location.file, line, column };
  }
  return null;
}

/** The offset of `word` in `sql` as a whole word (case-insensitive, quoted or not); -1 when absent. */
function findWord(sql: string, word: string): number {
  const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`(^|[^A-Za-z0-9_$"])"?${escaped}"?(?![A-Za-z0-9_$])`, 'i').exec(sql);
  return m ? m.index + m[1]!.length : -1;
}
