import { createHash } from 'node:crypto';
import type { Connection, Engine } from '../engine/engine';
import type { Plan } from '../plan/plan';
import { canonicalJson } from '../plan/serialize';
import type { DeployedState } from '../planner/planner';
import { usedVariables, type ProjectModel } from '../planner/project-model';
import { projectScope } from '../schema/managed-scope';

/** How a target's deployment got its plan: made for it, taken from a target in the same state, or a package's. */
export type PlanOrigin = 'built' | 'reused' | 'package';

/** What one target's deployment did about its plan. */
export interface TargetPlan {
  origin: PlanOrigin;
  /** The live state the plan was made for (12 hex digits), null when it was not shared (a package, an engine without state fingerprints). */
  state: string | null;
}

/**
 * The plans of one fleet deployment, by the live state they were made against (Atlas's "one approved plan per
 * state transition"): the state is what a plan from the sources depends on, the target's ledger (what each planned
 * project deployed) and the definitions in its schemas (`DiffRole.stateFingerprints`, which leaves out the database's
 * identity). The first target in a state builds the plan; every other target in that state, at once or later, gets
 * a copy of it. Each target still decides its own conflicts, gates and smoke checks on its own database.
 */
export class FleetPlans {
  private readonly plans = new Map<string, Promise<Plan>>();
  private readonly targets = new Map<string, TargetPlan>();
  private readonly values = new Map<string, unknown>();
  private readonly models = new Map<string, Promise<ProjectModel>>();

  /**
   * A value computed once for every target (`batchShared` serves it from here on a fleet): what the sources and the
   * workspace give, which no target's deployment changes (the git commit); per-target values carry the target's
   * environment name in their key.
   */
  memo<T>(key: string, compute: () => T): T {
    if (!this.values.has(key)) this.values.set(key, compute());
    return this.values.get(key) as T;
  }

  /**
   * A project's parsed sources, parsed once for the whole fleet: every target has the fleet's variables but its own
   * `{{target}}`, which only a project that uses it must be parsed again for. The model a target gets carries its
   * own variables (the runner expands its placeholders with them).
   */
  async model(
    key: string,
    variables: Record<string, string>,
    load: () => Promise<ProjectModel>,
  ): Promise<ProjectModel> {
    const { target: _own, ...common } = variables;
    const k = `${key}\0${canonicalJson(common)}`;
    let loading = this.models.get(k);
    if (!loading) {
      loading = load();
      this.models.set(k, loading);
      loading.catch(() => this.models.delete(k));
    }
    const model = await loading;
    if (model.variables.target !== variables.target && 'target' in usedVariables(model)) return load();
    return { ...model, variables };
  }

  /** What the deployment on `environment` (`<fleet>/<target>`) did about its plan; undefined before it planned. */
  of(environment: string): TargetPlan | undefined {
    return this.targets.get(environment);
  }

  /** Record a target whose plan was not shared: a package's, or one built by an engine that cannot tell states apart. */
  record(environment: string, origin: PlanOrigin): void {
    this.targets.set(environment, { origin, state: null });
  }

  /**
   * The plan for `environment` in `state`: a copy of the one already built (or being built) for that state, else
   * `build()`'s, kept for the targets after it. A build that fails is forgotten: a target waiting for it builds its
   * own (the failure may be its database's, such as a lost connection), and fails with its own error.
   */
  async plan(environment: string, state: string, build: () => Promise<Plan>): Promise<Plan> {
    for (;;) {
      const known = this.plans.get(state);
      if (known) {
        try {
          const plan = await known;
          this.targets.set(environment, { origin: 'reused', state });
          return structuredClone(plan);
        } catch {
          if (this.plans.get(state) === known) this.plans.delete(state);
          continue;
        }
      }
      const building = build();
      this.plans.set(state, building);
      try {
        const plan = await building;
        this.targets.set(environment, { origin: 'built', state });
        // The deployment adjusts its plan to its database (conflicts, kept tables): the kept one stays as built.
        return structuredClone(plan);
      } catch (e) {
        if (this.plans.get(state) === building) this.plans.delete(state);
        throw e;
      }
    }
  }
}

/** A target's live state (`liveState`). */
export interface LiveState {
  /** The key of the state, 12 hex digits: targets with equal keys take one plan. */
  key: string;
  /** The planned projects' schemas that are not in the database (`StateFingerprints.missingSchemas`). */
  missingSchemas: ReadonlySet<string>;
}

/**
 * The live state a plan from the sources is made against, as a key: the ledger's state of each planned project, the
 * definitions in their schemas (without the database's identity), the variables and the source commit. Null when the
 * engine cannot fingerprint definitions that way: its plans are not shared.
 */
export async function liveState(
  engine: Engine,
  conn: Connection,
  input: {
    models: readonly ProjectModel[];
    planned: readonly string[];
    deployed: ReadonlyMap<string, DeployedState>;
    sourceCommit: string | null;
  },
): Promise<LiveState | null> {
  const diff = engine.diff;
  if (!diff?.stateFingerprints) return null;
  const planned = input.models.filter((m) => input.planned.includes(m.project.name));
  const read = await diff.stateFingerprints(
    conn,
    planned.map((m) => projectScope(m.graph)),
  );
  const state = planned.map((m, i) => {
    const d = input.deployed.get(m.project.name);
    return {
      project: m.project.name,
      objects: d ? Object.fromEntries(d.objects) : {},
      migrations: d ? Object.fromEntries(d.migrations) : {},
      definitions: read.states[i] ?? null,
    };
  });
  const variables = Object.fromEntries(input.models.map((m) => [m.project.name, usedVariables(m)]));
  const text = canonicalJson({ sourceCommit: input.sourceCommit, planned: input.planned, state, variables });
  return {
    key: createHash('sha256').update(text).digest('hex').slice(0, 12),
    missingSchemas: new Set(read.missingSchemas),
  };
}
