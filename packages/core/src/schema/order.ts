import { formatKey, type ObjectKey } from '../model/object-key';
import type { Change, ChangeKind } from './change';
import type { Column, Constraint, SchemaModel, Sequence, Table } from './model';
import { indexModel } from './model-index';
import { topoSort } from './topo-sort';

/** Dependency-graph node of a table column: `table:s.t#column:c`. */
export function columnNode(table: ObjectKey, column: string): string {
  return `${formatKey(table)}#column:${column}`;
}

/** Dependency-graph node of a table constraint: `table:s.t#constraint:c`. */
export function constraintNode(table: ObjectKey, name: string): string {
  return `${formatKey(table)}#constraint:${name}`;
}

/**
 * The node a foreign key's reference needs: the referenced table's primary key or unique constraint over its columns,
 * or else a unique index over them. Null when neither is in the model.
 */
export function referencedKeyConstraint(model: SchemaModel, fk: Constraint): string | null {
  if (!fk.references) return null;
  const table = indexModel(model).tables.get(formatKey(fk.references.table));
  const wanted = [...fk.references.columns].sort().join(',');
  const key = table?.constraints.find(
    (c) => (c.kind === 'primary-key' || c.kind === 'unique') && [...c.columns].sort().join(',') === wanted,
  );
  if (table && key) return constraintNode(table.key, key.name);
  // PostgreSQL also accepts a unique index (not a constraint) over exactly those columns, whole and without expressions.
  const index = model.indexes.find(
    (i) =>
      i.unique &&
      i.predicate === null &&
      !i.expression &&
      formatKey(i.table) === formatKey(fk.references!.table) &&
      [...i.columns].sort().join(',') === wanted,
  );
  return index ? formatKey(index.key) : null;
}

/**
 * Order within one node (an object, a constraint...): lower first. Matters for tables, whose column changes share
 * the table's node, and for types (create, then add values).
 */
const RANK: Record<ChangeKind, number> = {
  'rename-table': 0,
  'rename-column': 1,
  'rename-object': 0,
  'create-schema': 0,
  'drop-schema': 9,
  'create-extension': 0,
  'drop-extension': 9,
  'alter-extension-version': 1,
  'create-collation': 0,
  'drop-collation': 9,
  'alter-collation': 1,
  'create-text-search-dictionary': 0,
  'drop-text-search-dictionary': 9,
  'alter-text-search-dictionary': 1,
  'create-text-search-configuration': 0,
  'drop-text-search-configuration': 9,
  'alter-text-search-configuration': 1,
  'create-table': 0,
  'copy-rows': 0,
  'add-column': 1,
  'alter-column-type': 2,
  'alter-column-default': 3,
  'alter-column-nullability': 4,
  'alter-column-identity': 5,
  'alter-column-settings': 6,
  'alter-table-options': 7,
  'drop-column': 8,
  'drop-table': 9,
  'add-constraint': 1,
  'drop-constraint': 0,
  'alter-constraint': 1,
  'create-index': 1,
  'drop-index': 0,
  'alter-index-options': 1,
  'create-view': 1,
  'replace-view': 1,
  'drop-view': 0,
  'create-routine': 1,
  'replace-routine': 1,
  'drop-routine': 0,
  'create-trigger': 1,
  'replace-trigger': 1,
  'drop-trigger': 0,
  'create-sequence': 0,
  'alter-sequence': 1,
  'drop-sequence': 9,
  'create-type': 0,
  'alter-enum-add-value': 1,
  'alter-composite-attributes': 1,
  'drop-type': 9,
  'create-domain': 0,
  'alter-domain-default': 1,
  'alter-domain-nullability': 2,
  'drop-domain-constraint': 3,
  'add-domain-constraint': 4,
  'drop-domain': 9,
  revoke: 0,
  grant: 1,
  'set-comment': 2,
  'set-owner': 3,
};

const DROPS = new Set<ChangeKind>([
  'drop-schema',
  'drop-collation',
  'drop-text-search-dictionary',
  'drop-text-search-configuration',
  'drop-extension',
  'drop-table',
  'drop-column',
  'drop-constraint',
  'drop-index',
  'drop-view',
  'drop-routine',
  'drop-trigger',
  'drop-sequence',
  'drop-type',
  'drop-domain',
  'drop-domain-constraint',
]);

const LAST = new Set<ChangeKind>(['set-comment', 'grant', 'revoke', 'set-owner']);

interface Placed {
  change: Change;
  index: number;
  /** 0 renames, 1 drops, 2 creates and alters, 3 comments, grants and owners. */
  phase: 0 | 1 | 2 | 3;
  node: string;
  deps: string[];
  rank: number;
}

/**
 * Put changes in an order that can be applied: renames; drops, dependents before what they depend on (in the
 * `from` model); creates and alters, dependencies first (in the `to` model); then comments, grants and owners.
 * Ties are broken by node (`formatKey`), then by rank within a node, then by the differ's own order.
 */
export function orderChanges(changes: Change[], from: SchemaModel, to: SchemaModel): Change[] {
  const fromTables = new Map(from.tables.map((t) => [formatKey(t.key), t]));
  const toTables = new Map(to.tables.map((t) => [formatKey(t.key), t]));
  const dropped = new Set<string>();
  for (const c of changes) {
    const key = droppedObject(c);
    if (key) dropped.add(formatKey(key));
  }

  const placed = changes.map((change, index) => place(change, index, { from, to, fromTables, toTables, dropped }));
  const out: Change[] = [];
  const byNodeThenRank = (a: Placed, b: Placed) =>
    a.node < b.node ? -1 : a.node > b.node ? 1 : a.rank - b.rank || a.index - b.index;
  const withinNode = (a: Placed, b: Placed) => a.rank - b.rank || a.index - b.index;

  out.push(
    ...placed
      .filter((p) => p.phase === 0)
      .sort(byNodeThenRank)
      .map((p) => p.change),
  );
  for (const phase of [1, 2] as const) {
    const items = placed.filter((p) => p.phase === phase);
    const groups = new Map<string, Placed[]>();
    for (const p of items) {
      let g = groups.get(p.node);
      if (!g) groups.set(p.node, (g = []));
      g.push(p);
    }
    let order: string[];
    if (phase === 2) {
      order = topoSort(
        [...groups].map(([id, g]) => ({ id, deps: g.flatMap((p) => p.deps), tie: `${tier(id)}|${id}` })),
      );
    } else {
      // Drops: a node goes before the nodes it depends on, so sort the reversed graph, classes in reverse.
      const reversed = new Map<string, string[]>([...groups.keys()].map((id) => [id, []]));
      for (const [id, g] of groups) {
        for (const dep of new Set(g.flatMap((p) => p.deps)))
          if (reversed.has(dep) && dep !== id) reversed.get(dep)!.push(id);
      }
      order = topoSort([...reversed].map(([id, deps]) => ({ id, deps, tie: `${9 - tier(id)}|${id}` })));
    }
    for (const id of order)
      out.push(
        ...groups
          .get(id)!
          .sort(withinNode)
          .map((p) => p.change),
      );
  }
  out.push(
    ...placed
      .filter((p) => p.phase === 3)
      .sort(byNodeThenRank)
      .map((p) => p.change),
  );
  return out;
}

/**
 * Object class of a node, used to break ties between nodes that are ready together. Not every dependency is in
 * the catalog (a SQL function's body may read tables and views it does not depend on formally), so tables come
 * before views, views before routines, routines before indexes and triggers; drops go the other way.
 */
function tier(node: string): number {
  const kind = node.slice(0, node.indexOf(':'));
  return TIERS[kind] ?? 9;
}

const TIERS: Record<string, number> = {
  schema: 0,
  extension: 1,
  collation: 1,
  'text-search-dictionary': 1,
  'text-search-configuration': 1,
  type: 2,
  domain: 2,
  sequence: 3,
  table: 4,
  view: 5,
  'materialized-view': 5,
  function: 6,
  procedure: 6,
  index: 7,
  trigger: 8,
};

interface Context {
  from: SchemaModel;
  to: SchemaModel;
  fromTables: Map<string, Table>;
  toTables: Map<string, Table>;
  dropped: Set<string>;
}

function schemaNode(key: ObjectKey): string[] {
  return key.schema ? [formatKey({ kind: 'schema', schema: '', name: key.schema })] : [];
}

const keys = (list: ObjectKey[]) => list.map(formatKey);

function columnIn(tables: Map<string, Table>, table: ObjectKey, name: string): Column | undefined {
  return tables.get(formatKey(table))?.columns.find((c) => c.name === name);
}

function constraintDeps(model: SchemaModel, table: ObjectKey, c: Constraint): string[] {
  const deps = [formatKey(table), ...keys(c.dependsOn)];
  if (c.references) {
    deps.push(formatKey(c.references.table));
    const key = referencedKeyConstraint(model, c);
    if (key) deps.push(key);
  }
  return deps;
}

function place(change: Change, index: number, ctx: Context): Placed {
  // The policies dropped early (they use a column this diff drops or retypes) go first on their table, also before a
  // column retyped with the drops (its collation or type is dropped).
  const rank =
    change.kind === 'alter-column-nullability' && !change.to
      ? 6
      : change.kind === 'alter-table-options' && change.early
        ? -1
        : // A default taken off goes before a retype that the drops run (its old type dropped).
          change.kind === 'alter-column-default' && change.to === null
          ? 1.5
          : RANK[change.kind];
  const base = { change, index, rank };
  if (change.kind === 'rename-table' || change.kind === 'rename-column') {
    return { ...base, phase: 0, node: formatKey(change.table), deps: [] };
  }
  if (change.kind === 'rename-object') return { ...base, phase: 0, node: formatKey(change.object), deps: [] };
  if (LAST.has(change.kind)) {
    const c = change as Extract<Change, { kind: 'set-comment' | 'grant' | 'revoke' | 'set-owner' }>;
    const target = c.kind === 'grant' || c.kind === 'revoke' ? c.privilege : c;
    const sub = 'column' in target && target.column !== undefined ? `#column:${target.column}` : '';
    const con = 'constraint' in target && target.constraint !== undefined ? `#constraint:${target.constraint}` : '';
    return { ...base, phase: 3, node: formatKey(target.target) + sub + con, deps: [] };
  }
  let phase: 1 | 2 = DROPS.has(change.kind) ? 1 : 2;
  if (change.kind === 'alter-column-default' && change.to === null) phase = 1;
  // Identity -> default or serial: the identity goes with the drops, before a default is set or a sequence of its
  // own sequence's name (`<table>_<column>_seq`) is created.
  if (change.kind === 'alter-column-identity' && change.to === null) phase = 1;
  if (change.kind === 'alter-table-options' && change.early) phase = 1;
  if (change.kind === 'alter-text-search-configuration' && change.early) phase = 1;
  if (change.kind === 'alter-column-type' && change.from.dependsOn.some((k) => ctx.dropped.has(formatKey(k))))
    phase = 1;
  // A sequence released from a table or column this diff drops: before that drop, which would take it along.
  if (change.kind === 'alter-sequence' && change.from.ownedBy && !change.to.ownedBy && releasedOwner(change.from, ctx))
    phase = 1;
  const model = phase === 1 ? ctx.from : ctx.to;
  const tables = phase === 1 ? ctx.fromTables : ctx.toTables;
  const { node, deps } = nodeOf(change, model, tables, phase);
  return { ...base, phase, node, deps };
}

function nodeOf(
  change: Change,
  model: SchemaModel,
  tables: Map<string, Table>,
  phase: 1 | 2,
): { node: string; deps: string[] } {
  switch (change.kind) {
    case 'create-schema':
    case 'drop-schema':
      return { node: formatKey(change.schema.key), deps: [] };
    case 'create-extension':
    case 'drop-extension':
      return { node: formatKey(change.extension.key), deps: schemaNode(change.extension.key) };
    case 'alter-extension-version':
    case 'alter-collation':
      return { node: formatKey(change.to.key), deps: [] };
    case 'create-collation':
    case 'drop-collation':
      return { node: formatKey(change.collation.key), deps: schemaNode(change.collation.key) };
    // A configuration needs its dictionaries, a dictionary the extension of its template (`unaccent`).
    case 'create-text-search-dictionary':
    case 'drop-text-search-dictionary':
      return {
        node: formatKey(change.dictionary.key),
        deps: [...schemaNode(change.dictionary.key), ...keys(change.dictionary.dependsOn)],
      };
    case 'create-text-search-configuration':
    case 'drop-text-search-configuration':
      return {
        node: formatKey(change.configuration.key),
        deps: [...schemaNode(change.configuration.key), ...keys(change.configuration.dependsOn)],
      };
    case 'alter-text-search-dictionary':
    case 'alter-text-search-configuration':
      return { node: formatKey(change.to.key), deps: keys((phase === 1 ? change.from : change.to).dependsOn) };
    case 'create-table':
    case 'drop-table': {
      const t = change.table;
      const deps = [...schemaNode(t.key), ...keys(t.dependsOn), ...t.columns.flatMap((c) => keys(c.dependsOn))];
      // A dropped table takes its triggers, indexes and constraints with it: it must go before what they use.
      if (change.kind === 'drop-table') deps.push(...childDeps(model, t));
      return { node: formatKey(t.key), deps };
    }
    case 'copy-rows':
      // After the new tree's tables; foreign keys into the table and its triggers wait for it (see below).
      return { node: `${formatKey(change.table)}#copy`, deps: keys(change.partitions) };
    case 'add-column':
    case 'drop-column':
      return { node: formatKey(change.table), deps: keys(change.column.dependsOn) };
    case 'alter-column-type':
      return { node: formatKey(change.table), deps: keys((phase === 1 ? change.from : change.to).dependsOn) };
    case 'alter-column-default':
      return {
        node: formatKey(change.table),
        deps: keys(columnIn(tables, change.table, change.column)?.dependsOn ?? []),
      };
    case 'rename-object':
      return { node: formatKey(change.object), deps: [] };
    case 'rename-table':
    case 'rename-column':
    case 'alter-column-nullability':
    case 'alter-column-identity':
    case 'alter-column-settings':
      return { node: formatKey(change.table), deps: [] };
    case 'alter-table-options': {
      // REPLICA IDENTITY USING INDEX and CLUSTER ON name an index (PostgreSQL): a node of its own, after the table and
      // the index (an index of its own, or a constraint's: both are waited for, whichever the plan makes).
      const ri = change.to['replicaIdentity'];
      const cluster = change.to['clusterOn'];
      const indexes = [
        ...(typeof ri === 'string' && ri.startsWith('index:') && ri !== change.from['replicaIdentity']
          ? [ri.slice(6)]
          : []),
        ...(typeof cluster === 'string' && cluster !== change.from['clusterOn'] ? [cluster] : []),
      ];
      if (!indexes.length) return { node: formatKey(change.table), deps: [] };
      const parent = `${change.table.schema}.${change.table.name}`;
      return {
        node: `${formatKey(change.table)}#replica-identity`,
        deps: [
          formatKey(change.table),
          ...indexes.flatMap((name) => [
            formatKey({ kind: 'index', schema: change.table.schema, name, parent }),
            constraintNode(change.table, name),
          ]),
        ],
      };
    }
    case 'add-constraint':
    case 'drop-constraint': {
      const deps = constraintDeps(model, change.table, change.constraint);
      // A foreign key is validated against rows: after a re-created table got its rows back.
      if (change.kind === 'add-constraint')
        deps.push(
          `${formatKey(change.table)}#copy`,
          ...(change.constraint.references ? [`${formatKey(change.constraint.references.table)}#copy`] : []),
        );
      return { node: constraintNode(change.table, change.constraint.name), deps };
    }
    case 'alter-constraint':
      return { node: constraintNode(change.table, change.to.name), deps: [formatKey(change.table)] };
    case 'alter-index-options':
      return { node: formatKey(change.to.key), deps: [formatKey(change.to.table)] };
    case 'create-index':
    case 'drop-index':
      return {
        node: formatKey(change.index.key),
        deps: [formatKey(change.index.table), ...keys(change.index.dependsOn)],
      };
    case 'create-view':
    case 'drop-view':
      return {
        node: formatKey(change.view.key),
        deps: [...schemaNode(change.view.key), ...keys(change.view.dependsOn)],
      };
    case 'create-routine':
    case 'drop-routine':
      return {
        node: formatKey(change.routine.key),
        deps: [...schemaNode(change.routine.key), ...keys(change.routine.dependsOn)],
      };
    case 'replace-view':
    case 'replace-routine':
      return { node: formatKey(change.to.key), deps: [...schemaNode(change.to.key), ...keys(change.to.dependsOn)] };
    case 'create-trigger':
    case 'drop-trigger': {
      const t = change.trigger;
      // Copied rows do not fire the triggers of a re-created table.
      const copy = change.kind === 'create-trigger' ? [`${formatKey(t.table)}#copy`] : [];
      return {
        node: formatKey(t.key),
        deps: [formatKey(t.table), formatKey(t.function), ...keys(t.dependsOn), ...copy],
      };
    }
    case 'replace-trigger': {
      const t = change.to;
      return { node: formatKey(t.key), deps: [formatKey(t.table), formatKey(t.function), ...keys(t.dependsOn)] };
    }
    case 'create-sequence':
    case 'drop-sequence':
      return { node: formatKey(change.sequence.key), deps: schemaNode(change.sequence.key) };
    case 'alter-sequence': {
      const by = phase === 1 ? change.from.ownedBy : change.to.ownedBy;
      const owner = by ? [formatKey(by.table)] : [];
      return { node: `${formatKey(change.to.key)}#alter`, deps: [formatKey(change.to.key), ...owner] };
    }
    case 'create-type':
    case 'drop-type':
      return {
        node: formatKey(change.type.key),
        deps: [...schemaNode(change.type.key), ...keys(change.type.dependsOn)],
      };
    case 'create-domain':
    case 'drop-domain':
      return {
        node: formatKey(change.domain.key),
        deps: [...schemaNode(change.domain.key), ...keys(change.domain.dependsOn)],
      };
    case 'alter-composite-attributes':
      return { node: formatKey(change.to.key), deps: keys(change.to.dependsOn) };
    case 'alter-enum-add-value':
      return { node: formatKey(change.type), deps: [] };
    case 'alter-domain-default':
    case 'alter-domain-nullability':
    case 'add-domain-constraint':
    case 'drop-domain-constraint':
      return { node: formatKey(change.domain), deps: [] };
    case 'set-comment':
    case 'set-owner':
      return { node: formatKey(change.target), deps: [] };
    case 'grant':
    case 'revoke':
      return { node: formatKey(change.privilege.target), deps: [] };
  }
}

/** The table or column owning `sequence` is dropped by this diff. */
function releasedOwner(sequence: Sequence, ctx: Context): boolean {
  const by = sequence.ownedBy!;
  if (ctx.dropped.has(formatKey(by.table))) return true;
  const table = ctx.toTables.get(formatKey(by.table));
  return !table || !table.columns.some((c) => c.name === by.column);
}

const childDepsCache = new WeakMap<SchemaModel, Map<string, string[]>>();

/** What the triggers, indexes and constraints of `table` depend on (besides the table). */
function childDeps(model: SchemaModel, table: Table): string[] {
  let byTable = childDepsCache.get(model);
  if (!byTable) {
    byTable = new Map();
    const add = (parent: ObjectKey, deps: string[]) => {
      const k = formatKey(parent);
      byTable!.set(k, [...(byTable!.get(k) ?? []), ...deps]);
    };
    for (const t of model.triggers) add(t.table, [formatKey(t.function), ...keys(t.dependsOn)]);
    for (const i of model.indexes) add(i.table, keys(i.dependsOn));
    childDepsCache.set(model, byTable);
  }
  const own = formatKey(table.key);
  const fromConstraints = table.constraints
    .flatMap((c) => constraintDeps(model, table.key, c))
    .filter((d) => d !== own && !d.startsWith(`${own}#`));
  return [...(byTable.get(own) ?? []), ...fromConstraints];
}

/** The object a change drops, if it drops a whole object. */
function droppedObject(change: Change): ObjectKey | null {
  switch (change.kind) {
    case 'drop-schema':
      return change.schema.key;
    case 'drop-extension':
      return change.extension.key;
    case 'drop-collation':
      return change.collation.key;
    case 'drop-text-search-dictionary':
      return change.dictionary.key;
    case 'drop-text-search-configuration':
      return change.configuration.key;
    case 'drop-table':
      return change.table.key;
    case 'drop-index':
      return change.index.key;
    case 'drop-view':
      return change.view.key;
    case 'drop-routine':
      return change.routine.key;
    case 'drop-trigger':
      return change.trigger.key;
    case 'drop-sequence':
      return change.sequence.key;
    case 'drop-type':
      return change.type.key;
    case 'drop-domain':
      return change.domain.key;
    default:
      return null;
  }
}
