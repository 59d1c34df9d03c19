import { formatKey } from '../model/object-key';
import type { Index, Routine, SchemaModel, Table, Trigger, View } from './model';

/** Lookups by `formatKey` over one model, built once per model object and cached. */
export interface ModelIndex {
  tables: Map<string, Table>;
  views: Map<string, View>;
}

const cache = new WeakMap<SchemaModel, ModelIndex>();

/** An object that can stand on another: a view, a routine, a trigger or an index. */
export type Dependent = View | Routine | Trigger | Index;

/** Who needs what, over one model (see `usersIndex`). */
export interface UsersIndex {
  /** `formatKey` of an object → the views, routines, triggers and indexes whose `dependsOn` names it, in model order. */
  byDependency: Map<string, Dependent[]>;
  /** `schema.name` of a relation → the triggers and indexes on it, in model order. */
  byTable: Map<string, (Trigger | Index)[]>;
}

const users = new WeakMap<SchemaModel, UsersIndex>();

/**
 * The model's reverse dependencies, built once per model object (linear in its size) and cached: what stands on an
 * object is a lookup instead of a scan of every view, routine and trigger, so that finding the users of many objects
 * (hazards of many drops, a view put back with everything over it) grows with what is found, not with the model
 * times the objects asked about. Models are treated as immutable once indexed.
 */
export function usersIndex(model: SchemaModel): UsersIndex {
  let index = users.get(model);
  if (!index) {
    const byDependency = new Map<string, Dependent[]>();
    const byTable = new Map<string, (Trigger | Index)[]>();
    for (const o of [...model.views, ...model.routines, ...model.triggers, ...model.indexes]) {
      for (const k of new Set(o.dependsOn.map(formatKey))) {
        const list = byDependency.get(k);
        if (list) list.push(o);
        else byDependency.set(k, [o]);
      }
    }
    for (const o of [...model.triggers, ...model.indexes]) {
      const t = `${o.table.schema}.${o.table.name}`;
      const list = byTable.get(t);
      if (list) list.push(o);
      else byTable.set(t, [o]);
    }
    index = { byDependency, byTable };
    users.set(model, index);
  }
  return index;
}

/** The model's tables and views by `formatKey`. Models are treated as immutable once indexed. */
export function indexModel(model: SchemaModel): ModelIndex {
  let index = cache.get(model);
  if (!index) {
    index = {
      tables: new Map(model.tables.map((t) => [formatKey(t.key), t])),
      views: new Map(model.views.map((v) => [formatKey(v.key), v])),
    };
    cache.set(model, index);
  }
  return index;
}
