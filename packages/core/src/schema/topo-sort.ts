/** A node to sort: `deps` are ids of nodes that must come first (ids not in the input are ignored). */
export interface TopoNode {
  id: string;
  deps: Iterable<string>;
  /** Sort key among nodes that are ready at the same time; defaults to `id`. Must be unique. */
  tie?: string;
}

/**
 * Kahn's algorithm; among nodes that are ready, the smallest tie key goes first, so the result is deterministic.
 * A cycle does not throw: the smallest remaining id is emitted anyway (its unmet dependencies are ignored),
 * because a plan with a questionable order is more useful to a reviewer than no plan.
 */
export function topoSort(nodes: TopoNode[]): string[] {
  const ids = new Set(nodes.map((n) => n.id));
  const tie = new Map(nodes.map((n) => [n.id, n.tie ?? n.id]));
  const byTie = new Map(nodes.map((n) => [n.tie ?? n.id, n.id]));
  const pending = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const node of nodes) {
    let count = 0;
    for (const dep of new Set(node.deps)) {
      if (dep === node.id || !ids.has(dep)) continue;
      count++;
      let list = dependents.get(dep);
      if (!list) dependents.set(dep, (list = []));
      list.push(node.id);
    }
    pending.set(node.id, count);
  }
  const ready = new MinHeap();
  for (const [id, count] of pending) if (count === 0) ready.push(tie.get(id)!);
  const out: string[] = [];
  const done = new Set<string>();
  const emit = (id: string) => {
    done.add(id);
    out.push(id);
    for (const next of dependents.get(id) ?? []) {
      const left = pending.get(next)! - 1;
      pending.set(next, left);
      if (left === 0 && !done.has(next)) ready.push(tie.get(next)!);
    }
  };
  while (out.length < ids.size) {
    const key = ready.pop();
    if (key !== undefined) {
      const id = byTie.get(key)!;
      if (!done.has(id)) emit(id);
      continue;
    }
    // A cycle: break it at the smallest tie key still waiting.
    let smallest: string | undefined;
    for (const [candidate] of pending) {
      const t = tie.get(candidate)!;
      if (!done.has(candidate) && (smallest === undefined || t < smallest)) smallest = t;
    }
    emit(byTie.get(smallest!)!);
  }
  return out;
}

/** A binary min-heap of strings: sorting 10,000 changes must not be quadratic. */
class MinHeap {
  private readonly items: string[] = [];

  push(value: string): void {
    const a = this.items;
    a.push(value);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]! <= a[i]!) break;
      [a[parent], a[i]] = [a[i]!, a[parent]!];
      i = parent;
    }
  }

  pop(): string | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]! < a[m]!) m = l;
        if (r < a.length && a[r]! < a[m]!) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}
