/** A row of `ObjectStore.objectStatesQuery`: an `objects` row, or an applied step of a deployment not folded yet. */
export type ObjectStateRow = {
  project: string;
  object_key: string;
  checksum: string;
  deployment_id?: number | string | null;
  step_order?: number | string | null;
  action?: string | null;
};

/** The answer of `ObjectStore.objectStatesQuery`, as `ObjectStore.objectStates` returns it. */
export function parseObjectStates(rows: ObjectStateRow[]): {
  states: Map<string, Map<string, string>>;
  unfolded: number[];
} {
  const states = new Map<string, Map<string, string>>();
  const of = (p: string) => {
    let m = states.get(p);
    if (!m) states.set(p, (m = new Map()));
    return m;
  };
  const steps = rows.filter((row) => row.deployment_id !== null && row.deployment_id !== undefined);
  for (const row of rows)
    if (row.deployment_id === null || row.deployment_id === undefined)
      of(row.project).set(row.object_key, row.checksum);
  steps.sort(
    (a, b) => Number(a.deployment_id) - Number(b.deployment_id) || Number(a.step_order) - Number(b.step_order),
  );
  for (const row of steps) {
    if (row.action === 'drop') of(row.project).delete(row.object_key);
    else of(row.project).set(row.object_key, row.checksum);
  }
  return { states, unfolded: [...new Set(steps.map((row) => Number(row.deployment_id)))] };
}
