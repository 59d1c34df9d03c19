import {
  diffModels as diffWith,
  type Change,
  type DiffOptions,
  type SchemaModel,
} from '../../packages/core/src/schema';
import { postgresFacts } from '../../packages/postgres/src/introspect/postgres-facts';

/** Diff options without the engine facts, which `diffModels` below always takes from PostgreSQL. */
export type PgDiffOptions = Omit<DiffOptions, 'facts'>;

/** Core's `diffModels` given PostgreSQL's facts, as the postgres engine's diff role hands them over (`diff.facts`). */
export function diffModels(from: SchemaModel, to: SchemaModel, options: PgDiffOptions = {}): Change[] {
  return diffWith(from, to, { ...options, facts: postgresFacts });
}
