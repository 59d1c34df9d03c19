import { formatKey } from '../model/object-key';
import type { SchemaModel, Table, View } from './model';

/** Lookups by `formatKey` over one model, built once per model object and cached. */
export interface ModelIndex {
  tables: Map<string, Table>;
  views: Map<string, View>;
}

const cache = new WeakMap<SchemaModel, ModelIndex>();

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
