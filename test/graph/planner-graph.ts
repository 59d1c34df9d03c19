import { buildGraph, loadProjectModel, Workspace } from '@dbee/core';
import { createPostgresEngine } from '@dbee/postgres';

/**
 * The planner's own graph of a project and its dependencies (every one planned), computed here without the graph
 * view: what the page must show, object for object and edge for edge.
 */
export async function plannerGraph(
  root: string,
  project: string,
): Promise<{ objects: string[]; edges: { from: string; to: string }[] }> {
  const workspace = Workspace.load(root);
  const environment = workspace.environment(undefined, process.env);
  const engine = createPostgresEngine();
  const models = [];
  for (const p of workspace.withDependencies(project)) {
    models.push(
      await loadProjectModel(root, p, workspace.settings(p, environment).variables, engine.parser, workspace.projects),
    );
  }
  const owners = new Map(models.flatMap((m) => m.graph.schemas.map((s) => [s, m.project.name] as const)));
  const graph = buildGraph(
    models.flatMap((m) => m.objects),
    new Map(models.map((m) => [m.project.name, m.graph])),
    new Set(models.map((m) => m.project.name)),
    owners,
  );
  return { objects: graph.order.map((o) => o.id), edges: graph.edges.map((e) => ({ from: e.from.id, to: e.to.id })) };
}

/** Everything that uses `key`, directly or not. */
export function dependentsOf(key: string, edges: readonly { from: string; to: string }[]): string[] {
  const seen = new Set<string>();
  const stack = [key];
  while (stack.length) {
    const k = stack.pop()!;
    for (const e of edges) {
      if (e.to === k && e.from !== key && !seen.has(e.from)) {
        seen.add(e.from);
        stack.push(e.from);
      }
    }
  }
  return [...seen].sort();
}

/** Everything `key` uses, directly or not. */
export function dependenciesOf(key: string, edges: readonly { from: string; to: string }[]): string[] {
  return dependentsOf(
    key,
    edges.map((e) => ({ from: e.to, to: e.from })),
  );
}
