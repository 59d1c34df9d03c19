import type { DependencyNode, DependencyStart } from '../engine/engine';
import type { ObjectKey } from '../model/object-key';
import type { Reference } from '../model/source';

/** One applied step of the deployment being verified, in plan order. */
export interface AppliedChange {
  key: ObjectKey;
  /** The step's position in the plan: later steps have larger numbers. */
  order: number;
  /** The step's action (`create`, `replace`, `alter`, `drop`, `migrate`...). */
  action: string;
  /** The project of the step, when the steps of several projects are given (a run deploying several). */
  project?: string;
}

export type { DependencyNode } from '../engine/engine';

/** Actions after which the object was analysed again by the database, against what it depends on at that moment. */
const DEFINING = new Set(['create', 'replace']);
const RELATIONS = new Set(['table', 'view', 'materialized-view', 'sequence']);
const ROUTINES = new Set(['function', 'procedure', 'aggregate']);
/** Kinds whose change cannot make a view fail to compile: a view's planning reads neither. */
const INERT = new Set(['index', 'trigger']);
/** Kinds that change the relation they belong to (a policy is applied to a view's query when it is planned). */
const ON_PARENT = new Set(['policy', 'constraint']);

/** The dependency node of a key; `*` for a change the database cannot follow (a migration, a schema...); null: none. */
export function nodeOf(key: ObjectKey): string | null {
  if (RELATIONS.has(key.kind)) return `relation:${key.schema}.${key.name}`;
  if (ROUTINES.has(key.kind)) return `routine:${key.schema}.${key.name}`;
  if (key.kind === 'type' || key.kind === 'domain') return `type:${key.schema}.${key.name}`;
  if (INERT.has(key.kind)) return null;
  if (ON_PARENT.has(key.kind) && key.parent?.includes('.')) return `relation:${key.parent}`;
  return '*';
}

/** The nodes a source reference can name (an unqualified one: in every schema of the search path). */
export function referenceNodes(ref: Reference, searchPath: readonly string[]): string[] {
  const prefixes =
    ref.kind === 'relation' || ref.kind === 'sequence'
      ? ['relation']
      : ref.kind === 'function'
        ? ['routine']
        : ref.kind === 'type'
          ? ['type', 'relation']
          : [];
  const schemas = ref.schema !== undefined ? [ref.schema] : searchPath;
  return prefixes.flatMap((p) => schemas.map((s) => `${p}:${s}.${ref.name}`));
}

/**
 * Of `views`, those the deployment made of `changes` can have broken, so that the smoke baseline compiles them. A view
 * or routine is *stale* when something it depends on directly (as the database records it, or as a routine's source
 * body names it: `bodies`) was changed by a step after the step that last defined it (any step, when this deployment
 * did not define it), or when a step the database cannot follow (a migration) ran after it. Compiling a view expands
 * the views under it and inlines the SQL routines it calls, so a view is compiled when it or anything under it is
 * stale, except through a view it reads no column of (`DependencyNode.opaque`: that view is compiled by itself when
 * it is stale or stands on one). A view or routine changed by a step that did not define it (an ALTER, a rollback
 * putting an older definition back) is stale itself. A view defined by this deployment after everything under it was
 * last changed was analysed by its own CREATE against those definitions, each of them analysed by its own: no step can
 * have broken it since; it is still planned once, by itself or under a view over it (`definedOnTop`), for what only
 * planning checks.
 */
export function viewsToCompile(
  views: readonly ObjectKey[],
  changes: readonly AppliedChange[],
  dependencies: ReadonlyMap<string, DependencyNode>,
  bodies: ReadonlyMap<string, readonly string[]> = new Map(),
): ObjectKey[] {
  const lastChange = new Map<string, number>();
  const defined = new Map<string, number[]>();
  let blind = 0; // the last step the database cannot follow
  for (const c of changes) {
    if (c.key.kind === 'schema' && c.action === 'create') continue; // a new schema holds nothing anything uses yet
    const node = nodeOf(c.key);
    if (node === '*') blind = Math.max(blind, c.order);
    if (node === null || node === '*') continue;
    lastChange.set(node, Math.max(lastChange.get(node) ?? 0, c.order));
    if (DEFINING.has(c.action)) defined.set(node, [...(defined.get(node) ?? []), c.order]);
  }
  // When the node was last analysed: 0 (before this deployment) unless every overload of a routine was defined.
  const definedAt = (node: string): number => {
    const orders = defined.get(node);
    if (!orders) return 0;
    const overloads = dependencies.get(node)?.overloads ?? 1;
    return orders.length >= overloads ? Math.min(...orders) : 0;
  };
  // What planning the node plans with the columns it reads: its direct dependencies but the views it reads no column of.
  const through = (node: string): string[] => {
    const dependency = dependencies.get(node);
    const opaque = new Set(dependency?.opaque ?? []);
    return (dependency?.dependsOn ?? []).filter((d) => !opaque.has(d));
  };
  const stale = (node: string): boolean => {
    const at = definedAt(node);
    // Changed by a step that did not define it (an ALTER; a rollback putting it back), or after its last definition.
    if (blind > at || (lastChange.get(node) ?? 0) > at) return true;
    return [...through(node), ...(bodies.get(node) ?? [])].some((d) => (lastChange.get(d) ?? 0) > at);
  };
  const memo = new Map<string, boolean>();
  const reaches = (node: string): boolean => {
    const known = memo.get(node);
    if (known !== undefined) return known;
    memo.set(node, false); // a cycle adds nothing
    const result = stale(node) || through(node).some((d) => dependencies.has(d) && reaches(d));
    memo.set(node, result);
    return result;
  };
  const chosen = new Set(
    views.filter((v) => {
      const node = nodeOf(v);
      return node === null || node === '*' || !dependencies.has(node) || reaches(node);
    }),
  );
  for (const v of definedOnTop(views, chosen, dependencies, definedAt)) chosen.add(v);
  return views.filter((v) => chosen.has(v));
}

/**
 * The views this deployment defined that no other compiled or defined view stands on. Planning a view checks what its
 * CREATE did not (its owner's privileges on what it reads, constant expressions the planner evaluates, such as an SQL
 * function inlined with constants), and it plans the views under it with it: so each view the deployment defined is
 * planned, by itself or under a view over it, and a chain of new views is planned once, from its top, not once per
 * view (planning each view of a chain plans the chain under it again: the square of its length).
 */
function definedOnTop(
  views: readonly ObjectKey[],
  chosen: ReadonlySet<ObjectKey>,
  dependencies: ReadonlyMap<string, DependencyNode>,
  definedAt: (node: string) => number,
): ObjectKey[] {
  const nodeOfView = new Map(views.map((v) => [v, nodeOf(v)] as const));
  const defined = views.filter((v) => {
    const node = nodeOfView.get(v);
    return !chosen.has(v) && !!node && node.startsWith('relation:') && definedAt(node) > 0;
  });
  // Every view under a view that is planned (a view's rewrite rule expands the views it reads, not a routine's body).
  const under = new Set<string>();
  const mark = (node: string) => {
    for (const d of dependencies.get(node)?.dependsOn ?? []) {
      if (!d.startsWith('relation:') || under.has(d)) continue;
      under.add(d);
      mark(d);
    }
  };
  for (const v of [...chosen, ...defined]) {
    const node = nodeOfView.get(v);
    if (node) mark(node);
  }
  return defined.filter((v) => !under.has(nodeOfView.get(v)!));
}

/**
 * Where to look for the views of other projects that `project`'s own steps among `changes` can have broken
 * (`SmokeDialect.dependentViews`): each object those steps changed in place (not a `create`: nothing stood on an object
 * that did not exist; not a `drop`: the database refuses to drop what something stands on). A step the database
 * cannot follow (a migration) can have changed any object of the project: then every one of `deployed`. Empty when
 * nothing the project had before was changed (a first deployment). With `dropped`: each object those steps drop
 * instead, which the database refuses while something stands on it (a verified dry run copies those dependents too).
 */
export function dependencyStarts(
  changes: readonly AppliedChange[],
  project: string,
  deployed: readonly ObjectKey[],
  dropped = false,
): DependencyStart[] {
  const mine = changes.filter((c) => (c.project ?? project) === project);
  const own = dropped
    ? mine.filter((c) => c.action === 'drop')
    : mine.filter((c) => c.action !== 'create' && c.action !== 'drop');
  const keys = !dropped && own.some((c) => nodeOf(c.key) === '*') ? deployed : own.map((c) => c.key);
  const starts = new Map<string, DependencyStart>();
  for (const key of keys) {
    const node = nodeOf(key);
    if (node === null || node === '*') continue;
    // A constraint or policy stands for its table (`parent`, `schema.name`), as `nodeOf` names it.
    const dot = ON_PARENT.has(key.kind) ? key.parent!.indexOf('.') : -1;
    const [schema, name] = dot < 0 ? [key.schema, key.name] : [key.parent!.slice(0, dot), key.parent!.slice(dot + 1)];
    starts.set(node, { node: node.slice(0, node.indexOf(':')) as DependencyStart['node'], schema, name });
  }
  return [...starts.values()];
}

/**
 * The steps of a plan up to the last of `project`'s, as the smoke baseline after that project's deployment reads them
 * (`SmokeRunOptions.changes`): its own steps and those of the projects deployed before it in the same run.
 */
export function changesUpTo(
  steps: readonly { objectKey: ObjectKey; order: number; action: string; project: string }[],
  project: string,
): AppliedChange[] {
  const last = Math.max(0, ...steps.filter((st) => st.project === project).map((st) => st.order));
  return steps
    .filter((st) => st.order <= last)
    .map((st) => ({ key: st.objectKey, order: st.order, action: st.action, project: st.project }));
}
