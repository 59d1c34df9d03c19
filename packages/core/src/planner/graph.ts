import { DbeeAggregateError, DbeeError, formatLocation } from '../errors';
import type { ObjectKind } from '../model/object-key';
import { REFERENCE_TARGETS as TARGET_KINDS, type Reference } from '../model/source';
import type { SourceObject } from './objects';
import { ReferenceIndex } from './reference-index';
import type { ManagedScope } from '../schema/managed-scope';

/** What the graph needs to know about each project taking part. */
export interface GraphProject {
  name: string;
  /** Schemas it owns (expanded). */
  schemas: string[];
  /** Schemas searched for unqualified names, in order. */
  searchPath: string[];
  /** The same before `{{placeholder}}` expansion: what plans store, expanded again by the runner. */
  searchPathTemplate: string[];
  /** Direct dependencies (project names). */
  dependsOn: string[];
  /** The project's db.yaml, for messages. */
  configFile: string;
  /** What the project manages in its schemas (db.yaml `manage:`), set once its sources are parsed. */
  manage?: ManagedScope;
}

/** An edge: `from` must be created after `to`. */
export interface Edge {
  from: SourceObject;
  to: SourceObject;
  reference: Reference | null;
}

export interface ObjectGraph {
  /** Objects of the projects being planned, in deployment order. */
  order: SourceObject[];
  /** Foreign keys moved out of their CREATE TABLE to break cycles: table id → referenced table ids. */
  deferredForeignKeys: Map<string, Set<string>>;
  /**
   * Every resolved dependency of the planned objects, foreign keys deferred to break cycles included; `to` may be an
   * object of a dependency project. What `dbee graph` draws.
   */
  edges: Edge[];
}

/**
 * Resolve references, check cross-project references against `dependsOn`, break foreign-key cycles, report the
 * other cycles (all at once), and order the objects: dependencies first, ties broken by key.
 *
 * `objects` holds the objects of `planned` projects and of their dependencies (for resolution only);
 * `schemaOwners` maps every schema owned anywhere in the workspace to its project, so that a reference into a
 * project that is not a dependency is an error rather than silently external.
 */
export function buildGraph(
  objects: readonly SourceObject[],
  projects: ReadonlyMap<string, GraphProject>,
  planned: ReadonlySet<string>,
  schemaOwners: ReadonlyMap<string, string>,
): ObjectGraph {
  const index = new ReferenceIndex(objects, projects);
  const lookup = (schema: string, name: string, kinds: ObjectKind[]): SourceObject[] =>
    index.lookup(schema, name, kinds);

  const errors: DbeeError[] = [];
  const edges = new Map<string, Edge[]>();
  const addEdge = (from: SourceObject, to: SourceObject, reference: Reference | null) => {
    if (from === to) return; // recursion, self-referencing foreign keys: fine inside one statement
    const list = edges.get(from.id) ?? [];
    if (!list.some((e) => e.to === to && (e.reference?.foreignKey ?? false) === (reference?.foreignKey ?? false)))
      list.push({ from, to, reference });
    edges.set(from.id, list);
  };

  for (const object of objects) {
    if (!planned.has(object.project)) continue;
    const project = projects.get(object.project)!;
    // Every object needs its schema and its parent table first.
    if (object.key.schema)
      for (const s of lookup('', object.key.schema, ['schema', 'database'])) addEdge(object, s, null);
    if (object.key.parent) {
      const dot = object.key.parent.indexOf('.');
      for (const p of lookup(object.key.parent.slice(0, dot), object.key.parent.slice(dot + 1), TARGET_KINDS.relation))
        addEdge(object, p, null);
    }
    for (const ref of object.references) {
      const targets = index.targets(object.project, ref);
      if (!targets.length) {
        // Perhaps an extension's object: see `ReferenceIndex.extensionsFor`.
        const extensions = index.extensionsFor(object, ref);
        for (const e of extensions) addEdge(object, e, ref);
        if (extensions.length) continue;
        const owner = ref.schema !== undefined ? schemaOwners.get(ref.schema) : undefined;
        if (owner && owner !== object.project && !project.dependsOn.includes(owner))
          errors.push(missingDependency(object, ref, project, owner, undefined));
        continue; // external: a built-in, an extension's, or created outside the sources (by a migration)
      }
      for (const target of targets) {
        if (target.project !== object.project && !project.dependsOn.includes(target.project)) {
          errors.push(missingDependency(object, ref, project, target.project, target));
          continue;
        }
        addEdge(object, target, ref);
      }
    }
  }
  if (errors.length) throw aggregate(errors, 'missing dependsOn entries');

  const plannedObjects = objects.filter((o) => planned.has(o.project));
  const allEdges = [...edges.values()].flat();
  const components = stronglyConnected(plannedObjects, edges);
  const deferredForeignKeys = breakForeignKeyCycles(components, edges);
  // Only a deferred foreign key changes the edges: otherwise the components are the ones just found.
  const cycles = findCycles(deferredForeignKeys.size ? stronglyConnected(plannedObjects, edges) : components, edges);
  if (cycles.length) {
    throw aggregate(
      cycles.map((cycle) => {
        const path = [...cycle, cycle[0]!].map((o) => `${o.id} (${formatLocation(o.location)})`).join('\n      -> ');
        const first = cycle[0]!;
        const edge = edges.get(first.id)!.find((e) => e.to === cycle[1 % cycle.length]);
        return new DbeeError(`dependency cycle:\n      ${path}`, {
          code: 'DEPENDENCY_CYCLE',
          location: first.location,
          hint:
            `break the cycle by removing one of these references (e.g. ${first.id} uses ${cycle[1 % cycle.length]!.id}` +
            `${edge?.reference?.via ? ` via ${edge.reference.via}` : ''}), or move the shared part into an object both can use`,
        });
      }),
      'dependency cycles',
    );
  }
  return { order: topologicalOrder(plannedObjects, edges), deferredForeignKeys, edges: allEdges };
}

function missingDependency(
  object: SourceObject,
  ref: Reference,
  project: GraphProject,
  owner: string,
  target: SourceObject | undefined,
): DbeeError {
  const name = `${ref.schema ?? target?.key.schema}.${ref.name}`;
  const where = target ? ` (defined in ${formatLocation(target.location)})` : '';
  return new DbeeError(
    `${object.id} uses ${name}${where}, which belongs to project "${owner}", but ${project.configFile} does not list "${owner}" in dependsOn`,
    {
      code: 'DEPENDENCY_UNDECLARED',
      location: ref.location ?? object.location,
      hint: `add "${owner}" to dependsOn in ${project.configFile}`,
      details: { object: object.id, reference: name, owner },
    },
  );
}

function aggregate(errors: DbeeError[], what: string): DbeeError {
  return errors.length === 1 ? errors[0]! : new DbeeAggregateError(`${errors.length} ${what}`, errors);
}

/**
 * Foreign keys between tables that form a cycle cannot all be created inline: drop those edges (the runner adds
 * the constraints after both tables exist) when the table's parser offered a way to split the constraint out.
 */
function breakForeignKeyCycles(components: SourceObject[][], edges: Map<string, Edge[]>): Map<string, Set<string>> {
  const deferred = new Map<string, Set<string>>();
  for (const scc of components) {
    if (scc.length < 2) continue;
    const members = new Set(scc.map((o) => o.id));
    for (const o of scc) {
      const list = edges.get(o.id) ?? [];
      const keep = list.filter((e) => {
        if (!members.has(e.to.id) || !e.reference?.foreignKey) return true;
        const splittable = o.deferrable.some((d) => sameTarget(d.target, e.to));
        if (!splittable) return true;
        const set = deferred.get(o.id) ?? new Set<string>();
        set.add(e.to.id);
        deferred.set(o.id, set);
        return false;
      });
      edges.set(o.id, keep);
    }
  }
  return deferred;
}

function sameTarget(ref: Reference, object: SourceObject): boolean {
  return (
    ref.name.toLowerCase() === object.key.name.toLowerCase() &&
    (ref.schema === undefined || ref.schema.toLowerCase() === object.key.schema.toLowerCase())
  );
}

/** Tarjan's algorithm, iterative (10,000-object projects must not overflow the stack). */
function stronglyConnected(objects: SourceObject[], edges: Map<string, Edge[]>): SourceObject[][] {
  const ids = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: SourceObject[] = [];
  const out: SourceObject[][] = [];
  let counter = 0;
  const sorted = [...objects].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const inPlan = new Set(sorted.map((o) => o.id));
  const adjacency = new Map<string, SourceObject[]>();
  for (const o of sorted)
    adjacency.set(
      o.id,
      (edges.get(o.id) ?? []).filter((e) => inPlan.has(e.to.id)).map((e) => e.to),
    );
  for (const root of sorted) {
    if (ids.has(root.id)) continue;
    const work: { node: SourceObject; i: number }[] = [{ node: root, i: 0 }];
    ids.set(root.id, counter);
    low.set(root.id, counter++);
    stack.push(root);
    onStack.add(root.id);
    while (work.length) {
      const frame = work[work.length - 1]!;
      const next = adjacency.get(frame.node.id)!;
      if (frame.i < next.length) {
        const to = next[frame.i++]!;
        if (!ids.has(to.id)) {
          ids.set(to.id, counter);
          low.set(to.id, counter++);
          stack.push(to);
          onStack.add(to.id);
          work.push({ node: to, i: 0 });
        } else if (onStack.has(to.id)) {
          low.set(frame.node.id, Math.min(low.get(frame.node.id)!, ids.get(to.id)!));
        }
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1]!.node;
        low.set(parent.id, Math.min(low.get(parent.id)!, low.get(frame.node.id)!));
      }
      if (low.get(frame.node.id) === ids.get(frame.node.id)) {
        const scc: SourceObject[] = [];
        let member: SourceObject;
        do {
          member = stack.pop()!;
          onStack.delete(member.id);
          scc.push(member);
        } while (member !== frame.node);
        out.push(scc);
      }
    }
  }
  return out;
}

/** One readable cycle per strongly connected component (of `components`) that has more than one member. */
function findCycles(components: SourceObject[][], edges: Map<string, Edge[]>): SourceObject[][] {
  const cycles: SourceObject[][] = [];
  for (const scc of components) {
    if (scc.length < 2) continue;
    const members = new Set(scc.map((o) => o.id));
    const start = [...scc].sort((a, b) => (a.id < b.id ? -1 : 1))[0]!;
    // Breadth-first search for the shortest way back to start, inside the component.
    const prev = new Map<string, SourceObject>();
    const queue = [start];
    let found: SourceObject | undefined;
    while (queue.length && !found) {
      const node = queue.shift()!;
      const next = (edges.get(node.id) ?? [])
        .map((e) => e.to)
        .filter((t) => members.has(t.id))
        .sort((a, b) => (a.id < b.id ? -1 : 1));
      for (const to of next) {
        if (to === start) {
          found = node;
          break;
        }
        if (!prev.has(to.id)) {
          prev.set(to.id, node);
          queue.push(to);
        }
      }
    }
    const path: SourceObject[] = [];
    for (let n: SourceObject | undefined = found; n && n !== start; n = prev.get(n.id)) path.unshift(n);
    cycles.push([start, ...path]);
  }
  return cycles.sort((a, b) => (a[0]!.id < b[0]!.id ? -1 : 1));
}

/** Kahn's algorithm with a min-heap on the key: deterministic order, dependencies first. */
function topologicalOrder(objects: SourceObject[], edges: Map<string, Edge[]>): SourceObject[] {
  const inPlan = new Set(objects.map((o) => o.id));
  const pending = new Map<string, number>();
  const dependents = new Map<string, SourceObject[]>();
  for (const o of objects) {
    const deps = new Set((edges.get(o.id) ?? []).map((e) => e.to.id).filter((id) => inPlan.has(id)));
    pending.set(o.id, deps.size);
    for (const d of deps) {
      const list = dependents.get(d);
      if (list) list.push(o);
      else dependents.set(d, [o]);
    }
  }
  const heap = new MinHeap<SourceObject>((a, b) => a.id < b.id);
  for (const o of objects) if (pending.get(o.id) === 0) heap.push(o);
  const order: SourceObject[] = [];
  while (heap.size) {
    const o = heap.pop()!;
    order.push(o);
    for (const d of dependents.get(o.id) ?? []) {
      const left = pending.get(d.id)! - 1;
      pending.set(d.id, left);
      if (left === 0) heap.push(d);
    }
  }
  return order;
}

class MinHeap<T> {
  private items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => boolean) {}
  get size(): number {
    return this.items.length;
  }
  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}
