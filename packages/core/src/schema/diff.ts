import { formatKey, type ObjectKey } from '../model/object-key';
import type { Change, ChangeOf, RenameDeclaration, TypeMove } from './change';
import type {
  Constraint,
  Index,
  Column,
  Comment,
  Privilege,
  PrivilegeGrant,
  Routine,
  SchemaModel,
  SchemaObject,
  Sequence,
  Table,
  TextSearchConfiguration,
  Trigger,
  TypeDef,
  View,
} from './model';
import { columnNode, constraintNode, orderChanges, referencedKeyConstraint } from './order';
import { parseType } from './hazards';
import type { EngineFacts } from '../model/engine-facts';
import { applyRenames } from './renames';
import { sameData } from './same-data';
import type { DefinitionForm, SameDefinition } from './definition-form';

export interface DiffOptions {
  /**
   * Declared renames. The differ never guesses a rename: without a declaration, a renamed table or column is a
   * drop and a create.
   */
  renames?: RenameDeclaration[];
  /**
   * Compare owners and emit `set-owner` changes. Default false: the desired model is usually built by another
   * role (a scratch database) than the one that owns objects in the target environment.
   */
  owners?: boolean;
  /**
   * Whether two definitions as the engine prints them (views' queries, constraints, defaults, generation
   * expressions, indexes, triggers, policies' expressions) mean the same thing. Default: equal text. Engines pass a
   * comparison of parsed trees because a server does not always print a definition the way it reads it back (an
   * extracted schema deployed elsewhere would differ from its origin for ever), and servers of different versions
   * print the same view differently (PostgreSQL 16+ drops redundant column qualifiers).
   */
  sameDefinition?: SameDefinition;
  /** The engine's type aliases and sequence function (`Engine.diff.facts`): which type changes keep a default, what a serial column is. */
  facts: EngineFacts;
}

/**
 * The changes that turn `from` into `to`, in an order that can be applied: renames first, then drops in reverse
 * dependency order, then creates and alters in dependency order, then comments, grants and owners. Ties are
 * broken by object class (tables before views before routines before indexes and triggers, reversed for drops,
 * because not every dependency is in the catalog), then by `formatKey`. Views, routines, triggers, indexes and constraints that depend on something that is
 * dropped or changed incompatibly are dropped before it and recreated after it.
 */
export function diffModels(from: SchemaModel, to: SchemaModel, options: DiffOptions): Change[] {
  const renamed = applyRenames(from, to, options.renames ?? []);
  const differ = new Differ(renamed.model, to, options);
  differ.run();
  return orderChanges([...renamed.changes, ...differ.changes], renamed.model, to);
}

interface Paired<T> {
  onlyFrom: T[];
  onlyTo: T[];
  both: [T, T][];
}

function pairBy<T>(from: T[], to: T[], id: (x: T) => string): Paired<T> {
  const left = new Map(from.map((x) => [id(x), x]));
  const right = new Map(to.map((x) => [id(x), x]));
  const ids = [...new Set([...left.keys(), ...right.keys()])].sort();
  const out: Paired<T> = { onlyFrom: [], onlyTo: [], both: [] };
  for (const k of ids) {
    const f = left.get(k);
    const t = right.get(k);
    if (f && t) out.both.push([f, t]);
    else if (f) out.onlyFrom.push(f);
    else out.onlyTo.push(t!);
  }
  return out;
}

const byKey = <T extends { key: ObjectKey }>(x: T) => formatKey(x.key);
const byName = <T extends { name: string }>(x: T) => x.name;

type Domain = Extract<TypeDef, { variant: 'domain' }>;

class Differ {
  readonly changes: Change[] = [];
  /** Nodes (object keys, `columnNode`, `constraintNode`) of `from` that are dropped or changed incompatibly. */
  private readonly removed = new Set<string>();
  /** Nodes that are created (or recreated) by this diff: their comments and privileges start from defaults. */
  private readonly fresh = new Set<string>();
  /** Tables and views dropped for good: what lives on them goes with them without its own drop. */
  private readonly goneParents = new Set<string>();
  /** Every node that exists in `to`. */
  private readonly inTo = new Set<string>();
  /** Tables re-created for a partitioning change: their own constraints and defaults come with the new table. */
  private readonly recreatedTables = new Set<string>();

  constructor(
    private readonly from: SchemaModel,
    private readonly to: SchemaModel,
    private readonly options: DiffOptions,
  ) {
    for (const o of allObjects(to)) this.inTo.add(formatKey(o.key));
    for (const t of to.tables) {
      for (const c of t.columns) this.inTo.add(columnNode(t.key, c.name));
      for (const c of t.constraints) this.inTo.add(constraintNode(t.key, c.name));
      for (const name of policyNames(t.attrs)) this.inTo.add(formatKey(policyKey(t.key, name)));
    }
    // A view's columns carry comments and grants too: one made by hand on a surviving view is taken back.
    for (const v of to.views) for (const c of v.columns) this.inTo.add(columnNode(v.key, c.name));
  }

  /** Whether two definitions (or two absent ones) mean the same thing: equal text, else the engine's comparison. */
  private same(a: string | null, b: string | null, form: DefinitionForm): boolean {
    if (a === b) return true;
    if (a === null || b === null) return false;
    return this.options.sameDefinition?.(a, b, form) ?? false;
  }

  /** Whether two objects' `attrs` are equal, a table's policies' expressions compared as definitions. */
  private sameAttrs(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
    if (sameData(a, b)) return true;
    const { policies: pa, ...ra } = a;
    const { policies: pb, ...rb } = b;
    if (!Array.isArray(pa) || !Array.isArray(pb) || pa.length !== pb.length || !sameData(ra, rb)) return false;
    type Policy = { using?: string | null; check?: string | null };
    return (pa as Policy[]).every((p, i) => {
      const { using: ua = null, check: ca = null, ...oa } = p;
      const { using: ub = null, check: cb = null, ...ob } = pb[i] as Policy;
      return sameData(oa, ob) && this.same(ua, ub, 'expression') && this.same(ca, cb, 'expression');
    });
  }

  run(): void {
    this.diffSchemas();
    this.diffExtensions();
    this.diffCollations();
    this.diffTextSearch();
    this.diffTypes();
    this.diffSequences();
    this.diffTables();
    this.diffIndexes();
    this.diffViews();
    this.diffRoutines();
    this.diffTriggers();
    this.recreateDependents();
    this.diffComments();
    this.diffPrivileges();
    if (this.options.owners) this.diffOwners();
  }

  private push(change: Change): void {
    this.changes.push(change);
  }

  private drop(key: ObjectKey): void {
    this.removed.add(formatKey(key));
  }

  private create(key: ObjectKey): void {
    this.fresh.add(formatKey(key));
  }

  private diffSchemas(): void {
    const p = pairBy(this.from.schemas, this.to.schemas, byKey);
    for (const s of p.onlyTo) {
      this.push({ kind: 'create-schema', schema: s });
      this.create(s.key);
    }
    for (const s of p.onlyFrom) {
      this.push({ kind: 'drop-schema', schema: s });
      this.drop(s.key);
    }
  }

  private diffExtensions(): void {
    const p = pairBy(this.from.extensions, this.to.extensions, byKey);
    for (const e of p.onlyTo) {
      this.push({ kind: 'create-extension', extension: e });
      this.create(e.key);
    }
    for (const e of p.onlyFrom) {
      this.push({ kind: 'drop-extension', extension: e });
      this.drop(e.key);
    }
    for (const [f, t] of p.both) {
      if (f.version === t.version) continue;
      // Extensions update only forward. Going back, an extension nothing uses is dropped and created at the
      // version wanted; one that objects use stays an alter, which the renderer refuses with what to do instead.
      if (compareVersions(t.version, f.version) < 0 && !this.usesOf(f.key)) {
        this.push({ kind: 'drop-extension', extension: f });
        this.push({ kind: 'create-extension', extension: t });
        continue;
      }
      this.push({ kind: 'alter-extension-version', from: f, to: t });
    }
  }

  private diffCollations(): void {
    const p = pairBy(this.from.collations ?? [], this.to.collations ?? [], byKey);
    for (const c of p.onlyTo) {
      this.push({ kind: 'create-collation', collation: c });
      this.create(c.key);
    }
    for (const c of p.onlyFrom) {
      this.push({ kind: 'drop-collation', collation: c });
      this.drop(c.key);
    }
    for (const [f, t] of p.both) {
      const { key: _k1, dependsOn: _d1, ...a } = f;
      const { key: _k2, dependsOn: _d2, ...b } = t;
      if (sameData(a, b)) continue;
      // Nothing can alter a collation's definition: it is dropped and created again (indexes and views that use
      // it with it) unless columns or domains keep using it, which the renderer refuses with the migration to write.
      if (this.keptUsers(f.key)) {
        this.push({ kind: 'alter-collation', from: f, to: t });
        continue;
      }
      this.push({ kind: 'drop-collation', collation: f });
      this.drop(f.key);
      this.push({ kind: 'create-collation', collation: t });
      this.create(t.key);
    }
  }

  /**
   * Text search dictionaries and configurations: options and mappings are altered in place; a new template or parser
   * (no ALTER changes those) is a drop and a create, indexes and views that use the object with it.
   */
  private diffTextSearch(): void {
    const dictionaries = pairBy(this.from.textSearchDictionaries ?? [], this.to.textSearchDictionaries ?? [], byKey);
    const configurations = pairBy(
      this.from.textSearchConfigurations ?? [],
      this.to.textSearchConfigurations ?? [],
      byKey,
    );
    for (const d of dictionaries.onlyTo)
      this.createTextSearch({ kind: 'create-text-search-dictionary', dictionary: d });
    for (const d of dictionaries.onlyFrom) this.dropTextSearch({ kind: 'drop-text-search-dictionary', dictionary: d });
    const recreated = new Set<string>();
    for (const [f, t] of dictionaries.both) {
      if (f.template !== t.template) {
        this.dropTextSearch({ kind: 'drop-text-search-dictionary', dictionary: f });
        this.createTextSearch({ kind: 'create-text-search-dictionary', dictionary: t });
        recreated.add(formatKey(f.key));
      } else if (f.options !== t.options) this.push({ kind: 'alter-text-search-dictionary', from: f, to: t });
    }
    const dropped = new Set(dictionaries.onlyFrom.map((d) => formatKey(d.key)));
    const uses = (c: TextSearchConfiguration, keys: Set<string>) => c.dependsOn.some((k) => keys.has(formatKey(k)));
    for (const c of configurations.onlyTo)
      this.createTextSearch({ kind: 'create-text-search-configuration', configuration: c });
    for (const c of configurations.onlyFrom)
      this.dropTextSearch({ kind: 'drop-text-search-configuration', configuration: c });
    for (const [f, t] of configurations.both) {
      // A configuration that maps to a dictionary dropped for good stops using it before the drop, unless it maps to
      // one this diff creates; one that maps to a dictionary created again goes and comes back with it.
      const early = uses(f, dropped);
      if (
        f.parser !== t.parser ||
        uses(f, recreated) ||
        (early && t.dependsOn.some((k) => this.fresh.has(formatKey(k))))
      ) {
        this.dropTextSearch({ kind: 'drop-text-search-configuration', configuration: f });
        this.createTextSearch({ kind: 'create-text-search-configuration', configuration: t });
      } else if (!sameData(f.mappings, t.mappings))
        this.push({ kind: 'alter-text-search-configuration', from: f, to: t, ...(early ? { early } : {}) });
    }
  }

  private createTextSearch(
    change: ChangeOf<'create-text-search-dictionary'> | ChangeOf<'create-text-search-configuration'>,
  ): void {
    this.push(change);
    this.create(change.kind === 'create-text-search-dictionary' ? change.dictionary.key : change.configuration.key);
  }

  private dropTextSearch(
    change: ChangeOf<'drop-text-search-dictionary'> | ChangeOf<'drop-text-search-configuration'>,
  ): void {
    this.push(change);
    this.drop(change.kind === 'drop-text-search-dictionary' ? change.dictionary.key : change.configuration.key);
  }

  /** Columns and types that use `key` in `from` and still use it in `to`. */
  private keptUsers(key: ObjectKey): number {
    const k = formatKey(key);
    const uses = (deps: ObjectKey[] | undefined) => (deps ?? []).some((d) => formatKey(d) === k);
    const toTables = new Map(this.to.tables.map((t) => [formatKey(t.key), t]));
    const toTypes = new Map(this.to.types.map((t) => [formatKey(t.key), t]));
    let n = 0;
    for (const t of this.from.tables) {
      for (const c of t.columns)
        if (
          uses(c.dependsOn) &&
          uses(toTables.get(formatKey(t.key))?.columns.find((x) => x.name === c.name)?.dependsOn)
        )
          n++;
    }
    for (const t of this.from.types) if (uses(t.dependsOn) && uses(toTypes.get(formatKey(t.key))?.dependsOn)) n++;
    return n;
  }

  /** How many objects and columns of `from` depend on `key`. */
  private usesOf(key: ObjectKey): number {
    const k = formatKey(key);
    const uses = (deps: ObjectKey[]) => deps.some((d) => formatKey(d) === k);
    let n = 0;
    for (const o of allObjects(this.from)) if (formatKey(o.key) !== k && uses(o.dependsOn)) n++;
    for (const t of this.from.tables) for (const c of t.columns) if (uses(c.dependsOn)) n++;
    return n;
  }

  private diffTypes(): void {
    const p = pairBy(this.from.types, this.to.types, byKey);
    for (const t of p.onlyTo) this.createType(t);
    for (const t of p.onlyFrom) this.dropType(t);
    for (const [f, t] of p.both) {
      if (f.variant !== t.variant || !sameData(f.attrs, t.attrs)) {
        this.recreateType(f, t);
        continue;
      }
      if (f.variant === 'enum' && t.variant === 'enum') {
        if (sameData(f.values, t.values)) continue;
        const added = enumAdditions(f.values, t.values);
        if (!added) this.recreateType(f, t);
        else for (const a of added) this.push({ kind: 'alter-enum-add-value', type: t.key, ...a });
      } else if (f.variant === 'composite' && t.variant === 'composite') {
        if (sameData(f.attributes, t.attributes)) continue;
        // ADD ATTRIBUTE appends: when that cannot give the desired order, the type is created again.
        const wanted = new Set(t.attributes.map((a) => a.name));
        const kept = f.attributes.filter((a) => wanted.has(a.name)).map((a) => a.name);
        const result = [...kept, ...t.attributes.filter((a) => !kept.includes(a.name)).map((a) => a.name)];
        if (
          sameData(
            result,
            t.attributes.map((a) => a.name),
          )
        )
          this.push({ kind: 'alter-composite-attributes', from: f, to: t });
        else this.recreateType(f, t);
      } else if (f.variant === 'range' && t.variant === 'range') {
        if (f.subtype !== t.subtype) this.recreateType(f, t);
      } else if (f.variant === 'domain' && t.variant === 'domain') {
        this.diffDomain(f, t);
      }
    }
  }

  private diffDomain(f: Domain, t: Domain): void {
    if (f.baseType !== t.baseType || f.collation !== t.collation) {
      this.recreateType(f, t);
      return;
    }
    if (!this.same(f.default, t.default, 'expression'))
      this.push({ kind: 'alter-domain-default', domain: t.key, from: f.default, to: t.default });
    if (f.notNull !== t.notNull)
      this.push({ kind: 'alter-domain-nullability', domain: t.key, from: f.notNull, to: t.notNull });
    const checks = pairBy(f.checks, t.checks, byName);
    for (const c of checks.onlyFrom) this.push({ kind: 'drop-domain-constraint', domain: t.key, constraint: c });
    for (const [a, b] of checks.both) {
      if (this.same(a.definition, b.definition, 'constraint')) continue;
      this.push({ kind: 'drop-domain-constraint', domain: t.key, constraint: a });
      this.push({ kind: 'add-domain-constraint', domain: t.key, constraint: b });
    }
    for (const c of checks.onlyTo) this.push({ kind: 'add-domain-constraint', domain: t.key, constraint: c });
  }

  private createType(t: TypeDef, cause?: string): void {
    const recreate = cause ? { recreate: { cause } } : {};
    this.push(
      t.variant === 'domain'
        ? { kind: 'create-domain', domain: t, ...recreate }
        : { kind: 'create-type', type: t, ...recreate },
    );
    this.create(t.key);
  }

  private dropType(t: TypeDef, cause?: string): void {
    const recreate = cause ? { recreate: { cause } } : {};
    this.push(
      t.variant === 'domain'
        ? { kind: 'drop-domain', domain: t, ...recreate }
        : { kind: 'drop-type', type: t, ...recreate },
    );
    this.drop(t.key);
  }

  private recreateType(f: TypeDef, t: TypeDef): void {
    const moves = f.variant === 'enum' && t.variant === 'enum' ? this.typeMoves(f.key) : [];
    if (!moves.length) {
      this.dropType(f, formatKey(f.key));
      this.createType(t, formatKey(t.key));
      return;
    }
    const recreate = { cause: formatKey(f.key) };
    this.push({ kind: 'drop-type', type: f as Exclude<TypeDef, { variant: 'domain' }>, recreate, moves });
    this.drop(f.key);
    this.push({ kind: 'create-type', type: t as Exclude<TypeDef, { variant: 'domain' }>, recreate, moves });
    this.create(t.key);
    // Views reading the moved columns are created again around the move.
    for (const m of moves) this.removed.add(columnNode(m.table, m.column));
  }

  /** Columns of tables kept by this diff that use `type` on both sides (by its name, or an array of it). */
  private typeMoves(type: ObjectKey): TypeMove[] {
    const name = formatKey(type);
    const toTables = new Map(this.to.tables.map((t) => [formatKey(t.key), t]));
    const out: TypeMove[] = [];
    for (const table of this.from.tables) {
      const next = toTables.get(formatKey(table.key));
      if (!next) continue;
      for (const c of table.columns) {
        if (!c.dependsOn.some((k) => formatKey(k) === name)) continue;
        const wanted = next.columns.find((x) => x.name === c.name);
        if (!wanted || wanted.type !== c.type) continue;
        out.push({
          table: next.key,
          column: c.name,
          type: wanted.type,
          default: wanted.default,
          fromDefault: c.default,
        });
      }
    }
    return out;
  }

  private diffSequences(): void {
    const p = pairBy(this.from.sequences, this.to.sequences, byKey);
    const droppedTables = new Set(pairBy(this.from.tables, this.to.tables, byKey).onlyFrom.map(byKey));
    const toTables = new Map(this.to.tables.map((t) => [formatKey(t.key), t]));
    for (const s of p.onlyTo) {
      // Created unowned: OWNED BY needs the table, which may need the sequence for its default.
      this.push({ kind: 'create-sequence', sequence: { ...s, ownedBy: null } });
      if (s.ownedBy) this.push({ kind: 'alter-sequence', from: { ...s, ownedBy: null }, to: s });
      this.create(s.key);
    }
    for (const s of p.onlyFrom) {
      this.drop(s.key);
      // An owned sequence goes with its table or column; dropping it first would fail on the default using it.
      if (s.ownedBy) {
        const owner = formatKey(s.ownedBy.table);
        const table = toTables.get(owner);
        if (droppedTables.has(owner) || (table && !table.columns.some((c) => c.name === s.ownedBy!.column))) continue;
      }
      this.push({ kind: 'drop-sequence', sequence: s });
    }
    for (const [f, t] of p.both) {
      const { key: _k1, attrs: a1, dependsOn: _d1, ...restF } = f;
      const { key: _k2, attrs: a2, dependsOn: _d2, ...restT } = t;
      if (sameData(restF, restT) && sameData(a1, a2)) continue;
      const owner = f.ownedBy && toTables.get(formatKey(f.ownedBy.table));
      if (f.ownedBy && !sameData(f.ownedBy, t.ownedBy) && !owner?.columns.some((c) => c.name === f.ownedBy!.column)) {
        // Its owner goes (table or column), which would take the sequence along: released with the drops
        // (`orderChanges`), then owned by its new column, if any, once that exists.
        const released = { ...f, ownedBy: null };
        this.push({ kind: 'alter-sequence', from: f, to: released });
        if (!sameData(released, t)) this.push({ kind: 'alter-sequence', from: released, to: t });
      } else this.push({ kind: 'alter-sequence', from: f, to: t });
    }
  }

  private diffTables(): void {
    const p = pairBy(this.from.tables, this.to.tables, byKey);
    const toTables = new Map(this.to.tables.map((t) => [formatKey(t.key), t]));
    const recreated = this.partitioningRecreated(p.both);
    // A partitioning change: the old tables are renamed aside, the new ones created, the rows copied into the
    // new root (where they fit its partitions), then the old tables dropped. Indexes, triggers, views, foreign
    // keys pointing at the tables, grants and comments come back through the usual recreation of dependents.
    const aside = (f: Table) =>
      recreated.has(formatKey(f.key)) && toTables.has(formatKey(partitionRoot(this.from, f).key));
    for (const t of p.onlyTo)
      this.createTable(
        t,
        recreated.has(formatKey(t.key)) ? { cause: formatKey(partitionRoot(this.to, t).key) } : undefined,
      );
    for (const [f] of p.both)
      if (recreated.has(formatKey(f.key)))
        this.createTable(toTables.get(formatKey(f.key))!, { cause: formatKey(partitionRoot(this.to, f).key) });
    const cyclic = this.foreignKeyCycles(p.onlyFrom);
    const gone = [...p.onlyFrom, ...p.both.map(([x]) => x).filter((x) => recreated.has(formatKey(x.key)))];
    const asideIds = new Set(gone.filter(aside).map((f) => formatKey(f.key)));
    for (const f of gone) {
      const id = formatKey(f.key);
      if (aside(f)) {
        const cause = formatKey(partitionRoot(this.from, f).key);
        // Foreign keys between old tables renamed aside go first: the old tables are dropped one after the other,
        // each with the copy of its rows, and one that another old table still references cannot be.
        const between = f.constraints.filter(
          (c) => c.references && formatKey(c.references.table) !== id && asideIds.has(formatKey(c.references.table)),
        );
        for (const c of between)
          this.push({ kind: 'drop-constraint', table: f.key, constraint: c, recreate: { cause } });
        this.push({
          kind: 'drop-table',
          table: between.length ? { ...f, constraints: f.constraints.filter((c) => !between.includes(c)) } : f,
          recreate: { cause },
          aside: asideTableName(f.key.name),
        });
        this.recreatedTables.add(id);
      } else {
        // Foreign keys that close a cycle between dropped tables go first: no order of DROP TABLE suits them.
        const loop = f.constraints.filter((c) => cyclic.has(c));
        for (const c of loop) this.push({ kind: 'drop-constraint', table: f.key, constraint: c });
        this.push({
          kind: 'drop-table',
          table: loop.length ? { ...f, constraints: f.constraints.filter((c) => !cyclic.has(c)) } : f,
        });
        this.goneParents.add(id);
      }
      this.drop(f.key);
      for (const c of f.columns) this.removed.add(columnNode(f.key, c.name));
      for (const c of f.constraints) this.removed.add(constraintNode(f.key, c.name));
      if (aside(f) && typeof f.attrs['partitionOf'] !== 'string') {
        // Rows of an old root (its partitions' rows included) go to the new root of the tree that holds its name.
        const target = partitionRoot(this.to, toTables.get(formatKey(partitionRoot(this.from, f).key))!);
        const partitions = partitionTree(this.to, target).map((x) => x.key);
        this.push({
          kind: 'copy-rows',
          table: target.key,
          from: { ...f.key, name: asideTableName(f.key.name) },
          partitions,
        });
      }
    }
    for (const [f, t] of p.both) {
      if (!recreated.has(formatKey(f.key))) this.diffTable(f, t);
    }
  }

  private createTable(t: Table, recreate?: { cause: string }): void {
    const again = recreate ? { recreate } : {};
    // Foreign keys after every table exists; a constraint not validated (attrs.notValid) after the table too: CREATE
    // TABLE would make it valid.
    // A partitioned table's key that takes in partitions' keys named by hand (PostgreSQL's `dependsOn` their tables)
    // after those partitions exist with them.
    const apart = (c: Constraint) =>
      c.kind === 'foreign-key' || c.attrs['notValid'] === true || c.dependsOn.some((k) => k.kind === 'table');
    this.push({ kind: 'create-table', table: { ...t, constraints: t.constraints.filter((c) => !apart(c)) }, ...again });
    this.create(t.key);
    for (const c of t.columns) this.fresh.add(columnNode(t.key, c.name));
    for (const name of policyNames(t.attrs)) this.create(policyKey(t.key, name));
    for (const c of t.constraints) {
      this.fresh.add(constraintNode(t.key, c.name));
      if (apart(c)) this.push({ kind: 'add-constraint', table: t.key, constraint: c, ...again });
    }
    // A replica identity that names an index (PostgreSQL's USING INDEX) and the index CLUSTER uses (CLUSTER ON) are
    // set once the index exists.
    const ri = t.attrs['replicaIdentity'];
    const { replicaIdentity: _ri, clusterOn: _c, ...before } = t.attrs;
    if (typeof ri === 'string' && !ri.startsWith('index:')) before['replicaIdentity'] = ri;
    if (!sameData(before, t.attrs)) this.push({ kind: 'alter-table-options', table: t.key, from: before, to: t.attrs });
  }

  /**
   * An index re-created (dropped and created again) that its table clusters on (PostgreSQL's `attrs.clusterOn`, lost
   * with the dropped index) is marked again once created, when the table itself is kept and says so on both sides.
   */
  private clusterOnAgain(index: Index): void {
    const relation = [...this.to.tables, ...this.to.views].find((x) => formatKey(x.key) === formatKey(index.table));
    if (!relation || relation.attrs['clusterOn'] !== index.key.name) return;
    const { clusterOn: _c, ...before } = relation.attrs;
    const same = (k: ObjectKey) => formatKey(k) === formatKey(relation.key);
    // Made with the relation (created or re-created here): that marks it already.
    if (
      this.changes.some(
        (c) => (c.kind === 'create-table' && same(c.table.key)) || (c.kind === 'create-view' && same(c.view.key)),
      )
    )
      return;
    this.push({ kind: 'alter-table-options', table: relation.key, from: before, to: relation.attrs });
  }

  /** Foreign keys between `gone` tables (not to themselves) whose referenced table reaches back to theirs. */
  private foreignKeyCycles(gone: Table[]): Set<Constraint> {
    const byId = new Map(gone.map((t) => [formatKey(t.key), t]));
    const edges = (t: Table) =>
      t.constraints.filter(
        (c) =>
          c.references && byId.has(formatKey(c.references.table)) && formatKey(c.references.table) !== formatKey(t.key),
      );
    const reaches = (from: string, to: string): boolean => {
      const seen = new Set<string>();
      const stack = [from];
      while (stack.length) {
        const id = stack.pop()!;
        if (id === to) return true;
        if (seen.has(id)) continue;
        seen.add(id);
        for (const c of edges(byId.get(id)!)) stack.push(formatKey(c.references!.table));
      }
      return false;
    };
    const out = new Set<Constraint>();
    for (const t of gone)
      for (const c of edges(t)) if (reaches(formatKey(c.references!.table), formatKey(t.key))) out.add(c);
    return out;
  }

  /**
   * Tables (keys) kept by name whose partitioning changes (partition key, parent or bound; a table becoming or
   * ceasing to be partitioned), with every table of the partition trees they belong to on either side.
   */
  /**
   * Tables (keys) whose partitioning changes (partition key, parent or bound; a table becoming or ceasing to be
   * partitioned), with every table of the partition trees they belong to on either side.
   */
  private partitioningRecreated(both: [Table, Table][]): Set<string> {
    const attrs = ['partitionBy', 'partitionOf', 'partitionBound'];
    const out = new Set<string>();
    for (const [f, t] of both) {
      if (attrs.every((a) => sameData(f.attrs[a], t.attrs[a]))) continue;
      for (const x of [
        ...partitionTree(this.from, partitionRoot(this.from, f)),
        ...partitionTree(this.to, partitionRoot(this.to, t)),
      ])
        out.add(formatKey(x.key));
    }
    return out;
  }

  private diffTable(f: Table, t: Table): void {
    const key = t.key;
    const retyped = f.columns.some((c) =>
      t.columns.some((x) => x.name === c.name && (x.type !== c.type || x.collation !== c.collation)),
    );
    // Columns dropped and added again (a generation expression that changes): what uses them goes and comes back.
    const rebuilt = new Set(
      f.columns.flatMap((c) => {
        const next = t.columns.find((x) => x.name === c.name);
        return next && this.rebuilt(c, next) ? [c.name] : [];
      }),
    );
    if (!this.sameAttrs(f.attrs, t.attrs) || ((retyped || rebuilt.size) && Array.isArray(f.attrs['policies']))) {
      // A policy can use a column this diff drops or retypes (PostgreSQL refuses both while it does): the policies
      // that change are dropped first, with the drops, and created again with the other options.
      const policies = (a: Table['attrs']) =>
        new Map((Array.isArray(a['policies']) ? (a['policies'] as { name: string }[]) : []).map((p) => [p.name, p]));
      const [before, after] = [policies(f.attrs), policies(t.attrs)];
      const toCols = new Map(t.columns.map((c) => [c.name, c]));
      const going = f.columns
        .filter(
          (c) =>
            !toCols.has(c.name) ||
            toCols.get(c.name)!.type !== c.type ||
            toCols.get(c.name)!.collation !== c.collation ||
            rebuilt.has(c.name),
        )
        .map((c) => c.name);
      // A policy kept as it is still blocks a retyped column it names: it is dropped and created again too.
      const names = (p: unknown) => JSON.stringify(p).match(/[A-Za-z_][A-Za-z0-9_$]*/g) ?? [];
      const changed = [...before.keys()].filter(
        (n) => !sameData(before.get(n), after.get(n)) || names(before.get(n)).some((w) => going.includes(w)),
      );
      if (changed.length && going.length) {
        const { policies: _p, ...rest } = f.attrs;
        const kept = [...before.values()].filter((p) => !changed.includes(p.name));
        const between = kept.length ? { ...rest, policies: kept } : rest;
        this.push({ kind: 'alter-table-options', table: key, from: f.attrs, to: between, early: true });
        this.push({ kind: 'alter-table-options', table: key, from: between, to: t.attrs });
      } else {
        this.push({ kind: 'alter-table-options', table: key, from: f.attrs, to: t.attrs });
      }
      // A policy that differs is dropped and created again (PostgreSQL's ALTER POLICY cannot change its command or
      // kind): its comment goes with it, and is set again.
      for (const [name, p] of after) if (!sameData(before.get(name), p)) this.create(policyKey(key, name));
    }
    const fromCols = new Map(f.columns.map((c) => [c.name, c]));
    const toCols = new Set(t.columns.map((c) => c.name));
    for (const c of f.columns) {
      if (toCols.has(c.name)) continue;
      this.push({ kind: 'drop-column', table: key, column: c });
      this.removed.add(columnNode(key, c.name));
    }
    // A table that stops inheriting keeps the columns it inherited, as its own (`NO INHERIT` makes them local).
    const kept = this.inheritedColumns(f, t);
    for (const c of t.columns) {
      const old = fromCols.get(c.name) ?? kept.get(c.name);
      if (!old) {
        this.push({ kind: 'add-column', table: key, column: c });
        this.fresh.add(columnNode(key, c.name));
        continue;
      }
      this.diffColumn(key, old, c);
    }
    const cons = pairBy(f.constraints, t.constraints, byName);
    for (const c of cons.onlyFrom) {
      this.push({ kind: 'drop-constraint', table: key, constraint: c });
      this.removed.add(constraintNode(key, c.name));
    }
    for (const [a, b] of cons.both) {
      // Whether a partition's key is attached to its parent's is the parent's to say (`attrs.incomplete`).
      const { attachedTo: _fa, ...fa } = a.attrs;
      const { attachedTo: _ta, ...ta } = b.attrs;
      if (a.kind === b.kind && this.same(a.definition, b.definition, 'constraint') && sameData(fa, ta)) continue;
      if (this.onlyTiming(f, t, a, b) && sameData(fa, ta)) {
        this.push({ kind: 'alter-constraint', table: key, from: a, to: b });
        continue;
      }
      const cause = constraintNode(key, a.name);
      this.push({ kind: 'drop-constraint', table: key, constraint: a, recreate: { cause } });
      this.push({ kind: 'add-constraint', table: key, constraint: b, recreate: { cause } });
      this.removed.add(cause);
      this.fresh.add(cause);
    }
    for (const c of cons.onlyTo) {
      this.push({ kind: 'add-constraint', table: key, constraint: c });
      this.fresh.add(constraintNode(key, c.name));
    }
  }

  /**
   * Whether a foreign key differs in its deferrability alone (`DEFERRABLE`, `INITIALLY DEFERRED`), which PostgreSQL
   * alters in place (`ALTER CONSTRAINT`) without checking the rows again. Only a foreign key: PostgreSQL alters no other
   * kind. Not on a partitioned table, nor one referencing a partitioned table: the constraint is then cloned onto
   * each partition, which a drop and an add make again as a fresh build does.
   */
  private onlyTiming(f: Table, t: Table, a: Constraint, b: Constraint): boolean {
    if (a.kind !== 'foreign-key' || b.kind !== 'foreign-key' || !a.references || !b.references) return false;
    const partitioned = (model: SchemaModel, table: ObjectKey) =>
      tableOf(model, table)?.attrs['partitionBy'] !== undefined;
    if (f.attrs['partitionBy'] !== undefined || t.attrs['partitionBy'] !== undefined) return false;
    if (partitioned(this.from, a.references.table) || partitioned(this.to, b.references.table)) return false;
    return this.same(a.definition, b.definition, 'constraint-without-timing');
  }

  /** Columns `f` inherits from parents that `t` no longer names (PostgreSQL `attrs.inherits`), by name. */
  private inheritedColumns(f: Table, t: Table): Map<string, Column> {
    const parents = (x: Table) => (Array.isArray(x.attrs['inherits']) ? (x.attrs['inherits'] as string[]) : []);
    const out = new Map<string, Column>();
    const visit = (name: string, seen: Set<string>) => {
      if (seen.has(name)) return;
      seen.add(name);
      const parent = this.from.tables.find((x) => `${x.key.schema}.${x.key.name}` === name);
      if (!parent) return;
      for (const c of parent.columns) if (!out.has(c.name)) out.set(c.name, c);
      for (const p of parents(parent)) visit(p, seen);
    };
    for (const p of parents(f)) if (!parents(t).includes(p)) visit(p, new Set());
    return out;
  }

  /** Whether a column kept by name is dropped and added again: its generation expression (or storage) changes. */
  private rebuilt(f: Column, t: Column): boolean {
    return (
      !this.same(f.generated, t.generated, 'expression') ||
      ((f.generated !== null || t.generated !== null) && f.attrs['generatedKind'] !== t.attrs['generatedKind'])
    );
  }

  private diffColumn(table: ObjectKey, f: Column, t: Column): void {
    const node = columnNode(table, t.name);
    if (this.rebuilt(f, t)) {
      // A generation expression cannot be altered in place everywhere: drop and add the column. PostgreSQL's DROP
      // COLUMN takes the indexes and constraints on it along: they are dropped and created again with it
      // (`recreateDependents`, through the column's `rebuiltNode`), as are the triggers and policies that name it.
      this.push({ kind: 'drop-column', table, column: f });
      this.push({ kind: 'add-column', table, column: t });
      this.removed.add(node);
      this.removed.add(rebuiltNode(table, t.name));
      this.fresh.add(node);
      return;
    }
    let fromDefault = f.default;
    if (f.type !== t.type || f.collation !== t.collation) {
      // A default typed for the old type may not cast to the new one: take it off first, put the desired one back.
      const a = parseType(f.type, this.options.facts.typeAliases);
      const b = parseType(t.type, this.options.facts.typeAliases);
      if (f.default !== null && (a.base !== b.base || a.array !== b.array)) {
        this.push({ kind: 'alter-column-default', table, column: t.name, from: f.default, to: null });
        fromDefault = null;
      }
      if (f.dependsOn.some((k) => !this.inTo.has(formatKey(k))) && t.dependsOn.length) {
        // The old type goes with the drops and the new one comes with the creates (an enum swapped under the
        // column): the column leaves the old type for its text form before the drop, and takes the new one after
        // the create (`orderChanges` puts a retype off a dropped type with the drops).
        const interim: Column = { ...t, type: 'text', collation: null, default: null, dependsOn: [] };
        this.push({ kind: 'alter-column-type', table, column: t.name, from: f, to: interim });
        this.push({ kind: 'alter-column-type', table, column: t.name, from: interim, to: t });
      } else this.push({ kind: 'alter-column-type', table, column: t.name, from: f, to: t });
      this.removed.add(node);
    }
    // Serial <-> identity: the position of the sequence goes along (through a holder sequence), so the next
    // INSERT neither collides nor reuses numbers handed out before.
    const toSerial =
      f.identity !== null && t.identity === null ? ownedSequence(this.to, table, t, this.options.facts) : undefined;
    const fromSerial =
      f.identity === null && t.identity !== null ? ownedSequence(this.from, table, f, this.options.facts) : undefined;
    let carry: { holder: ObjectKey } | undefined;
    if (toSerial)
      carry = { holder: { kind: 'sequence', schema: toSerial.key.schema, name: holderName(toSerial.key.name) } };
    if (fromSerial && !this.to.sequences.some((s) => formatKey(s.key) === formatKey(fromSerial.key))) {
      const drop = this.changes.find(
        (c): c is ChangeOf<'drop-sequence'> =>
          c.kind === 'drop-sequence' && formatKey(c.sequence.key) === formatKey(fromSerial.key),
      );
      if (drop) {
        carry = { holder: { kind: 'sequence', schema: fromSerial.key.schema, name: holderName(fromSerial.key.name) } };
        drop.carry = carry;
      }
    }
    const carried = carry ? { carry } : {};
    // An identity column takes no default: its identity goes before a default is set (see `orderChanges`). When the
    // new serial's sequence takes the identity's sequence name, DROP IDENTITY is that sequence's drop: one step, so
    // that the plan-aware conflict check sees the name freed before the sequence is created again.
    if (f.identity !== null && t.identity === null) {
      const sameName =
        toSerial &&
        !this.from.sequences.some((x) => formatKey(x.key) === formatKey(toSerial.key)) &&
        toSerial.key.name === `${table.name}_${t.name}_seq`;
      if (sameName)
        this.push({
          kind: 'drop-sequence',
          sequence: { ...toSerial, ownedBy: { table, column: t.name } },
          carry: carry!,
          identity: { table, column: t.name, from: f.identity },
        });
      else this.push({ kind: 'alter-column-identity', table, column: t.name, from: f.identity, to: null, ...carried });
    }
    if (!this.same(fromDefault, t.default, 'expression'))
      this.push({
        kind: 'alter-column-default',
        table,
        column: t.name,
        from: fromDefault,
        to: t.default,
        ...(toSerial ? carried : {}),
      });
    if (f.notNull !== t.notNull)
      this.push({ kind: 'alter-column-nullability', table, column: t.name, from: f.notNull, to: t.notNull });
    // The column's settings (statistics target, options, compression, storage): altered in place. A new type takes
    // its own storage (PostgreSQL's ALTER COLUMN ... TYPE), so a retyped column is compared without its old one.
    const retyped = f.type !== t.type || f.collation !== t.collation;
    const { storage: _s, ...keptOnRetype } = f.attrs;
    const before = retyped ? { ...f, attrs: keptOnRetype } : f;
    if (!sameData(columnSettings(before), columnSettings(t)))
      this.push({ kind: 'alter-column-settings', table, column: t.name, from: before, to: t });
    // Identity options (START, INCREMENT, MIN/MAXVALUE, CACHE, CYCLE) are compared when both sides read them.
    const options = (c: Column) => c.attrs['identityOptions'];
    const optionsChange =
      t.identity !== null && options(t) !== undefined && (f.identity === null || options(f) !== options(t))
        ? { options: { from: f, to: t } }
        : {};
    if (t.identity !== null && (f.identity !== t.identity || 'options' in optionsChange)) {
      this.push({
        kind: 'alter-column-identity',
        table,
        column: t.name,
        from: f.identity,
        to: t.identity,
        ...(fromSerial && f.identity === null ? carried : {}),
        ...optionsChange,
      });
    }
  }

  private diffIndexes(): void {
    const p = pairBy(this.from.indexes, this.to.indexes, byKey);
    // A partition's own index that a new index of its partitioned table takes in (`attrs.attached`: PostgreSQL's
    // CREATE INDEX on the parent attaches an equal index of a partition instead of building another) is kept.
    const attached = (i: Index) => (Array.isArray(i.attrs['attached']) ? (i.attrs['attached'] as string[]) : []);
    const takenIn = new Set(p.onlyTo.flatMap(attached));
    for (const i of p.onlyTo) {
      this.push({ kind: 'create-index', index: i });
      this.create(i.key);
    }
    for (const i of p.onlyFrom) {
      if (takenIn.has(`${i.key.schema}.${i.key.name}`) && !this.goneParents.has(formatKey(i.table))) continue;
      this.drop(i.key);
      if (!this.goneParents.has(formatKey(i.table))) this.push({ kind: 'drop-index', index: i });
    }
    // Which partitions' indexes a complete partitioned index has is not compared: a new partition brings its own.
    // An incomplete one (PostgreSQL: made ON ONLY, some partitions' indexes attached by hand) attaches what it lists.
    const compared = (i: Index) => {
      if (i.attrs['incomplete'] === true) return i.attrs;
      const { attached: _a, ...rest } = i.attrs;
      return rest;
    };
    for (const [f, t] of p.both) {
      if (this.same(f.definition, t.definition, 'statement') && sameData(compared(f), compared(t))) continue;
      if (this.onlyOptions(f, t, compared)) {
        this.push({ kind: 'alter-index-options', from: f, to: t });
        continue;
      }
      const cause = formatKey(f.key);
      this.push({ kind: 'drop-index', index: f, recreate: { cause } });
      this.push({ kind: 'create-index', index: t, recreate: { cause } });
      this.drop(f.key);
      this.create(t.key);
      this.clusterOnAgain(t);
    }
  }

  /**
   * Whether two indexes differ in their storage parameters alone (`attrs.reloptions`, PostgreSQL's `WITH (...)`), which
   * the engine changes in place without a rebuild. Not a partitioned table's index: its partitions' indexes took the
   * parameters when they were built and keep them (PostgreSQL's ALTER INDEX does not reach them).
   */
  private onlyOptions(f: Index, t: Index, compared: (i: Index) => Index['attrs']): boolean {
    if (f.attrs['partitioned'] === true || t.attrs['partitioned'] === true) return false;
    const { reloptions: _f, ...fa } = compared(f);
    const { reloptions: _t, ...ta } = compared(t);
    return sameData(fa, ta) && this.same(f.definition, t.definition, 'index-without-options');
  }

  private diffViews(): void {
    const p = pairBy(this.from.views, this.to.views, byKey);
    for (const v of p.onlyTo) this.createView(v);
    for (const v of p.onlyFrom) {
      this.push({ kind: 'drop-view', view: v });
      this.drop(v.key);
      this.goneParents.add(formatKey(v.key));
    }
    for (const [f, t] of p.both) {
      // A materialized view's CLUSTER ON and storage parameters: altered in place (ALTER MATERIALIZED VIEW ...
      // CLUSTER ON, SET (...)), as a table's are; a view's options go with its body.
      const inPlace = f.key.kind === 'materialized-view' ? ['clusterOn', 'reloptions'] : ['clusterOn'];
      const rest = (a: typeof f.attrs) => Object.fromEntries(Object.entries(a).filter(([k]) => !inPlace.includes(k)));
      if (
        this.same(f.definition, t.definition, 'query') &&
        sameData(f.columns, t.columns) &&
        sameData(rest(f.attrs), rest(t.attrs))
      ) {
        if (inPlace.some((a) => !sameData(f.attrs[a] ?? null, t.attrs[a] ?? null)))
          this.push({ kind: 'alter-table-options', table: t.key, from: f.attrs, to: t.attrs });
        continue;
      }
      if (f.key.kind === 'view' && viewColumnsCompatible(f, t)) {
        this.push({ kind: 'replace-view', from: f, to: t });
      } else {
        const cause = formatKey(f.key);
        this.push({ kind: 'drop-view', view: f, recreate: { cause } });
        this.drop(f.key);
        this.createView(t, { cause });
      }
    }
  }

  /** A view created; a materialized view's CLUSTER ON set once its index exists (as a table's, `createTable`). */
  private createView(v: View, recreate?: { cause: string }): void {
    const { clusterOn: _c, ...attrs } = v.attrs;
    this.push({ kind: 'create-view', view: { ...v, attrs }, ...(recreate ? { recreate } : {}) });
    this.create(v.key);
    if (typeof v.attrs['clusterOn'] === 'string')
      this.push({ kind: 'alter-table-options', table: v.key, from: attrs, to: v.attrs });
  }

  private diffRoutines(): void {
    const p = pairBy(this.from.routines, this.to.routines, byKey);
    for (const r of p.onlyTo) {
      this.push({ kind: 'create-routine', routine: r });
      this.create(r.key);
    }
    for (const r of p.onlyFrom) {
      this.push({ kind: 'drop-routine', routine: r });
      this.drop(r.key);
    }
    for (const [f, t] of p.both) {
      if (f.definition === t.definition && sameData(f.attrs, t.attrs)) continue;
      if (routineReplaceable(f, t)) {
        this.push({ kind: 'replace-routine', from: f, to: t });
      } else {
        const cause = formatKey(f.key);
        this.push({ kind: 'drop-routine', routine: f, recreate: { cause } });
        this.push({ kind: 'create-routine', routine: t, recreate: { cause } });
        this.drop(f.key);
        this.create(t.key);
      }
    }
  }

  private diffTriggers(): void {
    const p = pairBy(this.from.triggers, this.to.triggers, byKey);
    for (const t of p.onlyTo) {
      this.push({ kind: 'create-trigger', trigger: t });
      this.create(t.key);
    }
    for (const t of p.onlyFrom) {
      this.drop(t.key);
      if (!this.goneParents.has(formatKey(t.table))) this.push({ kind: 'drop-trigger', trigger: t });
    }
    for (const [f, t] of p.both) {
      if (this.same(f.definition, t.definition, 'statement') && sameData(f.attrs, t.attrs)) continue;
      if (!f.constraintTrigger && !t.constraintTrigger) {
        this.push({ kind: 'replace-trigger', from: f, to: t });
      } else {
        const cause = formatKey(f.key);
        this.push({ kind: 'drop-trigger', trigger: f, recreate: { cause } });
        this.push({ kind: 'create-trigger', trigger: t, recreate: { cause } });
        this.drop(f.key);
        this.create(t.key);
      }
    }
  }

  /**
   * Objects of `from` that depend on something dropped or changed incompatibly are dropped first and, when `to`
   * still has them, created again afterwards; repeated until nothing more is affected (views on views...).
   */
  private recreateDependents(): void {
    const toViews = new Map(this.to.views.map((v) => [formatKey(v.key), v]));
    const toRoutines = new Map(this.to.routines.map((r) => [formatKey(r.key), r]));
    const toTriggers = new Map(this.to.triggers.map((t) => [formatKey(t.key), t]));
    const toIndexes = new Map(this.to.indexes.map((i) => [formatKey(i.key), i]));
    const toTables = new Map(this.to.tables.map((t) => [formatKey(t.key), t]));

    interface Candidate {
      id: string;
      deps: string[];
      /** Emit the drop and create; `cause` is the removed node that forced it. */
      apply: (cause: string) => void;
    }
    const candidates: Candidate[] = [];
    const withoutReplace = (kind: 'replace-view' | 'replace-routine' | 'replace-trigger', key: string) => {
      const i = this.changes.findIndex((c) => c.kind === kind && formatKey(c.to.key) === key);
      if (i >= 0) this.changes.splice(i, 1);
    };

    for (const v of this.from.views) {
      const id = formatKey(v.key);
      candidates.push({
        id,
        deps: [...v.dependsOn.map(formatKey), ...v.dependsOnColumns.map((r) => columnNode(r.table, r.column))],
        apply: (cause) => {
          withoutReplace('replace-view', id);
          this.push({ kind: 'drop-view', view: v, recreate: { cause } });
          const t = toViews.get(id);
          if (t) {
            this.push({ kind: 'create-view', view: t, recreate: { cause } });
            this.create(t.key);
          }
        },
      });
    }
    for (const r of this.from.routines) {
      const id = formatKey(r.key);
      candidates.push({
        id,
        deps: r.dependsOn.map(formatKey),
        apply: (cause) => {
          withoutReplace('replace-routine', id);
          this.push({ kind: 'drop-routine', routine: r, recreate: { cause } });
          const t = toRoutines.get(id);
          if (t) {
            this.push({ kind: 'create-routine', routine: t, recreate: { cause } });
            this.create(t.key);
          }
        },
      });
    }
    const onParent = <T extends Trigger | (SchemaObject & { table: ObjectKey })>(
      item: T,
      extra: string[],
      make: (cause: string) => void,
    ): Candidate => ({
      id: formatKey(item.key),
      deps: [formatKey(item.table), ...extra, ...item.dependsOn.map(formatKey)],
      apply: (cause) => {
        // Dropped for good with its table or view: nothing to emit.
        if (this.goneParents.has(formatKey(item.table))) return;
        make(cause);
      },
    });
    for (const t of this.from.triggers) {
      const id = formatKey(t.key);
      candidates.push(
        onParent(t, [formatKey(t.function), ...namedColumns(this.from, t.table, t.definition)], (cause) => {
          withoutReplace('replace-trigger', id);
          this.push({ kind: 'drop-trigger', trigger: t, recreate: { cause } });
          const next = toTriggers.get(id);
          if (next) {
            this.push({ kind: 'create-trigger', trigger: next, recreate: { cause } });
            this.create(next.key);
          }
        }),
      );
    }
    const indexBySchemaName = new Map(this.from.indexes.map((i) => [`${i.key.schema}.${i.key.name}`, i]));
    for (const i of this.from.indexes) {
      const id = formatKey(i.key);
      // A partition's index attached to an incomplete partitioned index goes with it when that is dropped.
      const attachedTo = indexBySchemaName.get(String(i.attrs['attachedTo'] ?? ''));
      candidates.push(
        onParent(
          i,
          [
            ...(attachedTo ? [formatKey(attachedTo.key)] : []),
            ...i.columns.map((c) => rebuiltNode(i.table, c)),
            ...namedColumns(this.from, i.table, i.definition),
          ],
          (cause) => {
            // An index re-created needs no ALTER of its storage parameters: it is built with the new ones.
            this.withdraw((x) => x.kind === 'alter-index-options' && formatKey(x.to.key) === id);
            this.push({ kind: 'drop-index', index: i, recreate: { cause } });
            const next = toIndexes.get(id);
            if (next) {
              this.push({ kind: 'create-index', index: next, recreate: { cause } });
              this.create(next.key);
            }
          },
        ),
      );
    }
    for (const table of this.from.tables) {
      const tableId = formatKey(table.key);
      if (this.goneParents.has(tableId) || this.recreatedTables.has(tableId)) continue;
      const next = toTables.get(tableId);
      for (const c of table.constraints) {
        const id = constraintNode(table.key, c.name);
        const deps = [
          ...c.dependsOn.map(formatKey),
          ...c.columns.map((col) => rebuiltNode(table.key, col)),
          ...namedColumns(this.from, table.key, c.definition),
        ];
        if (c.references) {
          deps.push(formatKey(c.references.table));
          const key = referencedKeyConstraint(this.from, c);
          if (key) deps.push(key);
        }
        candidates.push({
          id,
          deps,
          apply: (cause) => {
            this.withdraw(
              (x) => x.kind === 'alter-constraint' && formatKey(x.table) === tableId && x.to.name === c.name,
            );
            this.push({ kind: 'drop-constraint', table: table.key, constraint: c, recreate: { cause } });
            const again = next?.constraints.find((x) => x.name === c.name);
            if (again) {
              this.push({ kind: 'add-constraint', table: table.key, constraint: again, recreate: { cause } });
              this.fresh.add(id);
            }
          },
        });
      }
      for (const col of table.columns) {
        if (col.default === null || col.dependsOn.length === 0) continue;
        const colId = columnNode(table.key, col.name);
        candidates.push({
          id: `${colId}#default`,
          deps: col.dependsOn.map(formatKey),
          apply: () => {
            if (this.removed.has(colId)) return;
            // Drop the default before what it uses goes away; set the desired one once that exists again.
            const i = this.changes.findIndex(
              (x) => x.kind === 'alter-column-default' && formatKey(x.table) === tableId && x.column === col.name,
            );
            if (i >= 0) this.changes.splice(i, 1);
            this.push({
              kind: 'alter-column-default',
              table: table.key,
              column: col.name,
              from: col.default,
              to: null,
            });
            const wanted = next?.columns.find((x) => x.name === col.name)?.default ?? null;
            if (wanted !== null)
              this.push({ kind: 'alter-column-default', table: table.key, column: col.name, from: null, to: wanted });
          },
        });
      }
    }

    let changed = true;
    while (changed) {
      changed = false;
      for (const c of candidates) {
        if (this.removed.has(c.id)) continue;
        const cause = c.deps.find((d) => this.removed.has(d));
        if (cause === undefined) continue;
        c.apply(cause);
        this.removed.add(c.id);
        changed = true;
      }
    }
  }

  /** Takes back the change `which` finds, if any: an alter in place that a drop and a create made needless. */
  private withdraw(which: (c: Change) => boolean): void {
    const i = this.changes.findIndex(which);
    if (i >= 0) this.changes.splice(i, 1);
  }

  private diffComments(): void {
    const id = (c: Comment) => `${formatKey(c.target)}|${c.column ?? ''}|${c.constraint ?? ''}`;
    const p = pairBy(this.from.comments, this.to.comments, id);
    for (const c of p.onlyTo) this.push({ kind: 'set-comment', ...this.subject(c), from: null, to: c.text });
    for (const [f, t] of p.both) {
      const base = this.isFresh(t) ? null : f.text;
      if (base !== t.text) this.push({ kind: 'set-comment', ...this.subject(t), from: base, to: t.text });
    }
    for (const c of p.onlyFrom) {
      // Comments go with their objects; only a surviving object needs its comment removed.
      if (!this.inTo.has(this.node(c)) || this.isFresh(c)) continue;
      this.push({ kind: 'set-comment', ...this.subject(c), from: c.text, to: null });
    }
  }

  private subject(c: Comment): Pick<ChangeOf<'set-comment'>, 'target' | 'column' | 'constraint'> {
    return {
      target: c.target,
      ...(c.column !== undefined ? { column: c.column } : {}),
      ...(c.constraint !== undefined ? { constraint: c.constraint } : {}),
    };
  }

  /** The node a comment or privilege hangs on: the object, one of its columns, or one of its constraints. */
  private node(x: { target: ObjectKey; column?: string; constraint?: string }): string {
    if (x.column !== undefined) return columnNode(x.target, x.column);
    if (x.constraint !== undefined) return constraintNode(x.target, x.constraint);
    return formatKey(x.target);
  }

  private isFresh(x: { target: ObjectKey; column?: string; constraint?: string }): boolean {
    return this.fresh.has(formatKey(x.target)) || this.fresh.has(this.node(x));
  }

  private diffPrivileges(): void {
    const id = (p: Privilege) => `${formatKey(p.target)}|${p.column ?? ''}|${p.grantee}`;
    const defaults = { ...this.from.defaultPrivileges, ...this.to.defaultPrivileges };
    const fromMap = new Map(this.from.privileges.map((p) => [id(p), p]));
    const toMap = new Map(this.to.privileges.map((p) => [id(p), p]));
    // A created object starts with the engine's defaults, which may need revoking.
    const freshDefaults = new Map<string, Privilege>();
    for (const o of allObjects(this.to)) {
      if (!this.fresh.has(formatKey(o.key))) continue;
      for (const g of (defaults[o.key.kind] ?? []) as PrivilegeGrant[]) {
        const p: Privilege = { target: o.key, grantee: g.grantee, privileges: [...g.privileges].sort(), grantable: [] };
        freshDefaults.set(id(p), p);
      }
    }
    const ids = [...new Set([...fromMap.keys(), ...toMap.keys(), ...freshDefaults.keys()])].sort();
    for (const k of ids) {
      const want = toMap.get(k);
      const any = want ?? fromMap.get(k) ?? freshDefaults.get(k)!;
      if (!this.inTo.has(this.node(any))) continue;
      const have = this.isFresh(any) ? freshDefaults.get(k) : fromMap.get(k);
      const wantPrivs = new Set(want?.privileges ?? []);
      const wantGrantable = new Set(want?.grantable ?? []);
      const havePrivs = new Set(have?.privileges ?? []);
      const haveGrantable = new Set(have?.grantable ?? []);
      const revoke = [...havePrivs].filter((x) => !wantPrivs.has(x) || (haveGrantable.has(x) && !wantGrantable.has(x)));
      const grant = [...wantPrivs].filter(
        (x) => !havePrivs.has(x) || revoke.includes(x) || (wantGrantable.has(x) && !haveGrantable.has(x)),
      );
      const base = {
        target: any.target,
        ...(any.column !== undefined ? { column: any.column } : {}),
        grantee: any.grantee,
      };
      if (revoke.length) {
        // `grantable` records which revoked privileges were held with grant option, so the reverse restores them.
        this.push({
          kind: 'revoke',
          privilege: { ...base, privileges: revoke.sort(), grantable: revoke.filter((x) => haveGrantable.has(x)) },
        });
      }
      if (grant.length) {
        this.push({
          kind: 'grant',
          privilege: { ...base, privileges: grant.sort(), grantable: grant.filter((x) => wantGrantable.has(x)) },
        });
      }
    }
  }

  private diffOwners(): void {
    const fromMap = new Map(this.from.owners.map((o) => [formatKey(o.target), o.owner]));
    for (const o of [...this.to.owners].sort((a, b) => (formatKey(a.target) < formatKey(b.target) ? -1 : 1))) {
      const k = formatKey(o.target);
      const before = this.fresh.has(k) ? '' : (fromMap.get(k) ?? '');
      if (before !== o.owner) this.push({ kind: 'set-owner', target: o.target, from: before, to: o.owner });
    }
  }
}

/** The top of the partition tree `table` belongs to in `model` (itself when it is no partition). */
export function partitionRoot(model: SchemaModel, table: Table): Table {
  let t = table;
  for (let i = 0; i < 64 && typeof t.attrs['partitionOf'] === 'string'; i++) {
    const parent = model.tables.find((x) => `${x.key.schema}.${x.key.name}` === t.attrs['partitionOf']);
    if (!parent) break;
    t = parent;
  }
  return t;
}

/** `root` and every partition below it in `model`. */
function partitionTree(model: SchemaModel, root: Table): Table[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) {
    const name = `${out[i]!.key.schema}.${out[i]!.key.name}`;
    for (const t of model.tables) if (t.attrs['partitionOf'] === name && !out.includes(t)) out.push(t);
  }
  return out;
}

/** Name an old table of a re-created partition tree is renamed to until its rows are copied. */
export function asideTableName(name: string): string {
  return `${name.slice(0, 50)}__dbee_old`;
}

/**
 * The sequence a serial column takes its default from: owned by the column and named in its default, a call of the
 * engine's sequence function (PostgreSQL: `nextval`).
 */
function ownedSequence(model: SchemaModel, table: ObjectKey, column: Column, facts: EngineFacts): Sequence | undefined {
  if (column.default === null || !column.default.startsWith(facts.sequenceFunction + '(')) return undefined;
  return model.sequences.find(
    (s) =>
      s.ownedBy !== null &&
      formatKey(s.ownedBy.table) === formatKey(table) &&
      s.ownedBy.column === column.name &&
      column.default!.includes(s.key.name),
  );
}

/** Name of the holder sequence that keeps a position while a column moves between serial and identity. */
export function holderName(sequence: string): string {
  return `${sequence.slice(0, 48)}__dbee_pos`;
}

/** Every keyed object of a model. */
export function allObjects(m: SchemaModel): SchemaObject[] {
  return [
    ...m.schemas,
    ...m.extensions,
    ...(m.collations ?? []),
    ...(m.textSearchDictionaries ?? []),
    ...(m.textSearchConfigurations ?? []),
    ...m.types,
    ...m.sequences,
    ...m.tables,
    ...m.indexes,
    ...m.views,
    ...m.routines,
    ...m.triggers,
  ];
}

/**
 * The values to add to an enum to get from `from` to `to`, each placed after its predecessor in `to` (or before
 * its successor when it comes first); null when `to` drops or reorders existing values, which no engine alters
 * in place.
 */
export function enumAdditions(
  from: string[],
  to: string[],
): { value: string; before?: string; after?: string }[] | null {
  const existing = new Set(from);
  const kept = to.filter((v) => existing.has(v));
  if (kept.length !== from.length || kept.some((v, i) => v !== from[i])) return null;
  const out: { value: string; before?: string; after?: string }[] = [];
  to.forEach((v, i) => {
    if (existing.has(v)) return;
    if (i > 0) out.push({ value: v, after: to[i - 1]! });
    else if (from.length > 0) out.push({ value: v, before: from[0]! });
    else out.push({ value: v });
  });
  return out;
}

/**
 * `CREATE OR REPLACE VIEW` keeps the existing columns: the new column list must start with the old one, same
 * names and types, and may only add columns at the end.
 */
export function viewColumnsCompatible(from: View, to: View): boolean {
  if (to.columns.length < from.columns.length) return false;
  return from.columns.every((c, i) => to.columns[i]!.name === c.name && to.columns[i]!.type === c.type);
}

/**
 * `CREATE OR REPLACE FUNCTION` cannot change the result type (OUT parameters included), parameter names or
 * defaults in every way: only a body, language or attribute change with an identical signature is replaced.
 */
export function routineReplaceable(from: Routine, to: Routine): boolean {
  return from.key.kind === to.key.kind && from.returnType === to.returnType && from.arguments === to.arguments;
}

/** Compares dotted versions numerically where they are numbers (`1.10` > `1.9`), else as text. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    if (x === y) continue;
    if (/^\d+$/.test(x) && /^\d+$/.test(y)) return Number(x) - Number(y);
    return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * A column's engine settings: its `attrs` but what the differ compares on its own (an identity's options, a generated
 * column's kind). PostgreSQL: `statistics`, `options`, `compression`, `storage` (docs/diffs.md).
 */
export function columnSettings(c: Column): Column['attrs'] {
  const { identityOptions: _i, generatedKind: _g, ...rest } = c.attrs;
  return rest;
}

/** The names of a table's row-level security policies (PostgreSQL's `attrs.policies`). */
function policyNames(attrs: Table['attrs']): string[] {
  return Array.isArray(attrs['policies']) ? (attrs['policies'] as { name: string }[]).map((p) => p.name) : [];
}

/** The key a policy's comment hangs on: the policy, by name, on its table. */
function policyKey(table: ObjectKey, name: string): ObjectKey {
  return { kind: 'policy', schema: table.schema, name, parent: `${table.schema}.${table.name}` };
}

/** The node of a column dropped and added again (`Differ.rebuilt`): what is on it must be created again too. */
function rebuiltNode(table: ObjectKey, column: string): string {
  return `${columnNode(table, column)}#rebuilt`;
}

/**
 * The `rebuiltNode`s of the columns of `table` a definition names (a trigger's `UPDATE OF` or `WHEN`, a check's or an
 * expression index's expression), by the identifiers in its text: a word that only looks like a column costs one
 * drop and create of an object that would have stayed, never a missed one.
 */
function namedColumns(model: SchemaModel, table: ObjectKey, definition: string | null): string[] {
  if (!definition) return [];
  const columns = tableOf(model, table)?.columns;
  if (!columns?.length) return [];
  const words = new Set((definition.match(/"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*/g) ?? []).map(unquoteWord));
  return columns.filter((c) => words.has(c.name)).map((c) => rebuiltNode(table, c.name));
}

/**
 * The table of `model` under `key`, by a map made once per list of tables: asked for each trigger, index and
 * constraint a diff weighs, a search of the list made the diff of a full deploy's convergence check quadratic (a
 * fifth of its CPU at 1,005 objects). A list that grew since is mapped again.
 */
function tableOf(model: SchemaModel, key: ObjectKey): Table | undefined {
  let mapped = tablesByKey.get(model.tables);
  if (!mapped || mapped.length !== model.tables.length) {
    mapped = { length: model.tables.length, byKey: new Map() };
    // The first of a name, as a search finds it.
    for (const t of model.tables) if (!mapped.byKey.has(formatKey(t.key))) mapped.byKey.set(formatKey(t.key), t);
    tablesByKey.set(model.tables, mapped);
  }
  return mapped.byKey.get(formatKey(key));
}
const tablesByKey = new WeakMap<readonly Table[], { length: number; byKey: Map<string, Table> }>();

function unquoteWord(word: string): string {
  return word.startsWith('"') ? word.slice(1, -1).replace(/""/g, '"') : word;
}
