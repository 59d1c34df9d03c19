import { describe, expect, it } from 'vitest';
import type { ResolvedEnvironment } from '../config/resolve';
import type { Engine } from '../engine/engine';
import type { ProjectModel } from '../planner/project-model';
import { applicationSearchPath } from './compat';

/** `compat.searchPath` is read as db.yaml's names are: each entry an identifier under the engine's rules. */
describe('applicationSearchPath', () => {
  const environment = (searchPath?: string[]) =>
    ({ compat: searchPath ? { queries: 'q', searchPath } : undefined }) as unknown as ResolvedEnvironment;
  const engine = (keyNames?: Engine['capabilities']['keyNames']) => ({ capabilities: { keyNames } }) as Engine;
  const model = { graph: { searchPath: ['dev_sales', 'public'] } } as unknown as ProjectModel;

  it('folds unquoted names as PostgreSQL does and keeps a quoted one as written', () => {
    expect(applicationSearchPath(environment(['DEV_sales', '"Audit"', 'public']), engine(), model)).toEqual([
      'dev_sales',
      'Audit',
      'public',
    ]);
  });

  it("upper-cases on an engine whose names are upper case (Teradata's rules)", () => {
    expect(
      applicationSearchPath(environment(['dev_edw']), engine({ unquoted: 'upper', quoted: 'upper' }), model),
    ).toEqual(['DEV_EDW']);
  });

  it("is the project's search path when the environment sets none", () => {
    expect(applicationSearchPath(environment(), engine(), model)).toEqual(['dev_sales', 'public']);
  });
});
