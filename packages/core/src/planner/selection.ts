import { existsSync, readFileSync } from 'node:fs';
import { DbeeAggregateError, DbeeError } from '../errors';
import { globSubject, objectGlobPattern } from '../model/object-glob';
import type { ObjectKey } from '../model/object-key';
import type { Plan, PlanStep } from '../plan/plan';
import type { DeployedState } from './planner';
import { buildGraph, type ObjectGraph } from './graph';
import type { ProjectModel } from './project-model';

/**
 * A selection of a plan's objects (`--objects <glob>`, `--objects-from <file>`): the grammar of `extract --objects`
 * (`objectGlobPattern`), one entry per glob, with the file and line it was read from.
 */
export interface SelectionEntry {
  glob: string;
  /** `--objects-from`: the file (as given) and the 1-based line. */
  from?: { file: string; line: number };
}

export interface Selection {
  entries: SelectionEntry[];
  /** `--with-needed`: the pending changes the selected ones need join the plan. */
  withNeeded: boolean;
}

/** The options that make a selection; null when none is given. */
export function readSelection(
  options: { objects?: string[]; objectsFrom?: string; withNeeded?: boolean },
  resolvePath: (path: string) => string,
): Selection | null {
  const entries: SelectionEntry[] = (options.objects ?? []).map((glob) => ({ glob: glob.trim() }));
  if (options.objectsFrom !== undefined) {
    const path = resolvePath(options.objectsFrom);
    if (!existsSync(path))
      throw new DbeeError(`--objects-from ${options.objectsFrom}: no such file`, {
        code: 'OPTIONS_INVALID',
        hint: 'one object key or glob per line (`function:sales.total`), `#` for comments',
      });
    readFileSync(path, 'utf8')
      .split(/\r?\n/)
      .forEach((raw, i) => {
        const glob = raw.replace(/#.*$/, '').trim();
        if (glob) entries.push({ glob, from: { file: options.objectsFrom!, line: i + 1 } });
      });
    if (!entries.length)
      throw new DbeeError(`--objects-from ${options.objectsFrom}: the file names no object`, {
        code: 'OPTIONS_INVALID',
        hint: 'one object key or glob per line (`function:sales.total`), `#` for comments',
      });
  }
  if (!entries.length) {
    if (options.withNeeded)
      throw new DbeeError('--with-needed completes a selection: give --objects or --objects-from', {
        code: 'OPTIONS_INVALID',
      });
    return null;
  }
  return { entries, withNeeded: options.withNeeded ?? false };
}

/** A key's argument list dropped (`function:s.f(integer)` → `function:s.f`): what a listed key is matched as. */
function globOf(entry: SelectionEntry): RegExp {
  const bare = entry.glob.replace(/\([^()]*\)$/, '');
  return new RegExp(objectGlobPattern(bare));
}

function where(entry: SelectionEntry): string {
  return entry.from ? `${entry.from.file}:${entry.from.line}: ` : '';
}

/** Whether a step's object is selected: by its own key, or (an index, a trigger) by the table it belongs to. */
function selects(res: readonly RegExp[], key: ObjectKey): boolean {
  const subjects = [globSubject(key)];
  if (key.parent) {
    const dot = key.parent.indexOf('.');
    subjects.push(globSubject({ kind: 'table', schema: key.parent.slice(0, dot), name: key.parent.slice(dot + 1) }));
  }
  return subjects.some((s) => res.some((re) => re.test(s)));
}

/** Whether a selection selects this object (by its key, or an index or trigger by its table). */
export function selectsKey(selection: Selection, key: ObjectKey): boolean {
  return selects(selection.entries.map(globOf), key);
}

/**
 * Every entry must name an object of the planned projects' sources: one that names none is refused (all of them at
 * once, with the file and line of `--objects-from`), before anything runs.
 */
export function checkSelection(
  selection: Selection,
  models: readonly ProjectModel[],
  planned: readonly string[],
  elsewhere: ReadonlySet<string> = new Set(),
) {
  const keys = models.filter((m) => planned.includes(m.project.name)).flatMap((m) => m.objects.map((o) => o.key));
  refuseUnmatched(selection, keys, `of ${planned.join(', ')}`, elsewhere);
}

/**
 * Refuse the entries of a selection that match none of `keys` (all of them at once, with the file and line of
 * `--objects-from`): `what` says whose objects they are (`of sales`, `that sales has deployed on test`). Entries
 * naming a schema of `elsewhere` (another project's) are not refused.
 */
export function refuseUnmatched(
  selection: Selection,
  keys: readonly ObjectKey[],
  what: string,
  elsewhere: ReadonlySet<string> = new Set(),
): void {
  const errors = selection.entries
    .filter((e) => !elsewhere.has(schemaOf(e.glob)) && !keys.some((k) => selects([globOf(e)], k)))
    .map(
      (e) =>
        new DbeeError(`${where(e)}--objects ${e.glob} matches no object ${what}`, {
          code: 'OPTIONS_INVALID',
          hint: 'a key or glob over `kind:schema.name` (`function:sales.total`, `sales.order_*`): see `dbee graph` for the keys; nothing was run',
        }),
    );
  if (errors.length === 1) throw errors[0]!;
  if (errors.length)
    throw new DbeeAggregateError(`${errors.length} entries of the selection match no object; nothing was run`, errors);
}

/** The schema a glob names (`function:sales.total`, `sales.order_*` -> `sales`), as written; '' when it has none. */
function schemaOf(glob: string): string {
  const subject = glob.replace(/^[a-z-]+:/, '');
  return subject.includes('.') ? subject.slice(0, subject.indexOf('.')).replace(/"/g, '') : '';
}

/** What a selection made of a plan. */
export interface SelectedPlan {
  plan: Plan;
  /** The selected steps' keys, then the needed ones taken by `--with-needed`. */
  selected: string[];
  needed: string[];
  /** What the selected steps need and the plan does not take (a plan made against no database): named. */
  unmet: string[];
  /** Pending changes over the selected objects that stay pending. */
  dependents: string[];
  /** The plan's other changes, which stay pending. */
  pending: string[];
}

/** The objects' dependency graph of the planned projects (the one the planner builds). */
export function selectionGraph(
  models: readonly ProjectModel[],
  planned: readonly string[],
  schemaOwners: ReadonlyMap<string, string>,
): ObjectGraph {
  return buildGraph(
    models.flatMap((m) => m.objects),
    new Map(models.map((m) => [m.project.name, m.graph])),
    new Set(planned),
    schemaOwners,
  );
}

/**
 * The plan of a selection: the steps of the selected objects, refused (exit 1, naming them) when they need a pending
 * change that is not selected (an edge of the object graph, to any depth, or the new schema they are in), or with
 * those changes too under `--with-needed`. A project planned by a diff records its ledger state for the selected
 * objects only: the others keep the state the ledger had, so they stay pending.
 */
export function selectPlan(
  plan: Plan,
  selection: Selection,
  graph: ObjectGraph,
  deployed: ReadonlyMap<string, DeployedState>,
  /** False for a plan made against no database (`plan --objects --out`): what the selection needs is named, not refused. */
  strict = true,
): SelectedPlan {
  const res = selection.entries.map(globOf);
  const pendingKeys = new Set(plan.steps.map((s) => s.key));
  const chosen = new Set(plan.steps.filter((s) => selects(res, s.objectKey)).map((s) => s.key));
  const deps = new Map<string, { to: string; foreignKey: boolean }[]>();
  const dependentsOf = new Map<string, string[]>();
  for (const e of graph.edges) {
    if (e.from.id === e.to.id) continue;
    const dep = { to: e.to.id, foreignKey: e.reference?.foreignKey === true };
    deps.set(e.from.id, [...(deps.get(e.from.id) ?? []), dep]);
    dependentsOf.set(e.to.id, [...(dependentsOf.get(e.to.id) ?? []), e.from.id]);
  }
  const stepOf = new Map(plan.steps.map((s) => [s.key, s]));
  // The pending changes a key needs: what it references (reads, calls, its own foreign keys), the new schema it is in,
  // the table it is on, and in turn what those pending changes need. An object already on the target (no pending
  // change) needs nothing more, and another table's foreign key is needed only when that table is created.
  const needs = (start: string): string[] => {
    const seen = new Set<string>();
    const out = new Set<string>();
    const walk = (key: string) => {
      const step = stepOf.get(key);
      const direct = (deps.get(key) ?? [])
        .filter((d) => !d.foreignKey || key === start || step?.action === 'create')
        .map((d) => d.to);
      if (step?.objectKey.schema) direct.push(`schema:${step.objectKey.schema}`);
      if (step?.objectKey.parent) direct.push(`table:${step.objectKey.parent}`);
      for (const d of direct) {
        if (seen.has(d) || !pendingKeys.has(d)) continue;
        seen.add(d);
        out.add(d);
        walk(d);
      }
    };
    walk(start);
    return [...out];
  };
  const missing = new Map<string, string[]>();
  for (const key of chosen) {
    const unselected = needs(key).filter((k) => !chosen.has(k));
    if (unselected.length) missing.set(key, unselected);
  }
  const needed = [...new Set([...missing.values()].flat())];
  if (needed.length && !selection.withNeeded && strict) {
    const errors = [...missing].map(
      ([key, what]) =>
        new DbeeError(`--objects: ${key} needs ${what.join(', ')}, pending and not selected`, {
          code: 'SELECTION_INCOMPLETE',
          hint: 'select what it needs too, or add --with-needed to take it along; nothing was run',
        }),
    );
    if (errors.length === 1) throw errors[0]!;
    throw new DbeeAggregateError(
      `${errors.length} selected changes need pending changes that are not selected`,
      errors,
    );
  }
  // What a needed change needs in turn is needed too.
  const taken = new Set(chosen);
  if (selection.withNeeded) for (const k of needed) for (const more of [k, ...needs(k)]) taken.add(more);
  // Steps on a taken table (its indexes, its constraints) go with it.
  for (const s of plan.steps)
    if (s.objectKey.parent && taken.has(`table:${s.objectKey.parent}`) && chosen.has(`table:${s.objectKey.parent}`))
      taken.add(s.key);
  const steps: PlanStep[] = plan.steps.filter((s) => taken.has(s.key)).map((s, i) => ({ ...s, order: i + 1 }));
  const dependents = new Set<string>();
  const over = (key: string) => {
    for (const d of dependentsOf.get(key) ?? []) {
      if (dependents.has(d) || taken.has(d)) continue;
      if (pendingKeys.has(d)) dependents.add(d);
      over(d);
    }
  };
  for (const k of taken) over(k);
  return {
    plan: { ...plan, steps, objectStates: selectedStates(plan, steps, deployed) },
    selected: [...chosen],
    needed: selection.withNeeded ? [...taken].filter((k) => !chosen.has(k)) : [],
    unmet: selection.withNeeded ? [] : needed,
    dependents: [...dependents],
    pending: plan.steps.filter((s) => !taken.has(s.key)).map((s) => s.key),
  };
}

/**
 * The ledger state a diff-planned project records after a selection: the ledger's state before, with the selected
 * steps' objects at their new state (a dropped one forgotten). Projects with no selected step record nothing.
 */
function selectedStates(
  plan: Plan,
  steps: readonly PlanStep[],
  deployed: ReadonlyMap<string, DeployedState>,
): Plan['objectStates'] {
  if (!plan.objectStates) return undefined;
  const out: Record<string, Record<string, string>> = {};
  for (const [project, states] of Object.entries(plan.objectStates)) {
    const mine = steps.filter((s) => s.project === project);
    if (!mine.length) continue;
    const next: Record<string, string> = Object.fromEntries(deployed.get(project)?.objects ?? []);
    for (const s of mine) {
      if (states[s.key] !== undefined) next[s.key] = states[s.key]!;
      else if (s.action === 'drop') delete next[s.key];
    }
    out[project] = next;
  }
  return Object.keys(out).length ? out : undefined;
}
