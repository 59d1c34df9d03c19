import { afterEach, describe, expect, it } from 'vitest';
import {
  DbeeError,
  Workspace,
  graphProject,
  loadProjectModel,
  planFromSources,
  planSources,
  refuseNeedsDiff,
  type DeployedState,
  type PlanInput,
} from '@dbee/core';
import { createPostgresEngine } from '@dbee/postgres';
import { tempWorkspace, WORKSPACE_YAML } from '../support/workspace';
import { project } from '../support/plan';

let cleanup: (() => void)[] = [];
afterEach(() => {
  cleanup.forEach((f) => f());
  cleanup = [];
});

/** The planner's input for project `shop` of the workspace at `root`, against `deployed`. */
async function input(root: string, deployed: Map<string, DeployedState>): Promise<PlanInput> {
  const workspace = Workspace.load(root);
  const environment = workspace.environment('local', { DBEE_TEST_PG_URL: 'postgres://unused' });
  const engine = createPostgresEngine();
  const p = workspace.project('shop');
  const { variables } = workspace.settings(p, environment);
  const owners = new Map(
    graphProject(p, variables, workspace.projects).schemas.map((s) => [s, p.name] as [string, string]),
  );
  const model = await loadProjectModel(root, p, variables, engine.parser, workspace.projects);
  return { engine, models: [model], planned: ['shop'], schemaOwners: owners, deployed };
}

/** The planner from `@dbee/core` says what needs a diff instead of throwing (issue #14 point 1). */
describe('planSources, exported from @dbee/core', () => {
  it('returns a changed table in needsDiff with the plan of the rest; the throwing planners refuse it', async () => {
    const w = tempWorkspace({
      'dbee.yaml': WORKSPACE_YAML,
      'shop/db.yaml': project('shop'),
      'shop/t.sql': 'CREATE SCHEMA shop;\nCREATE TABLE shop.items (id int PRIMARY KEY);\n',
      'shop/v.sql': 'CREATE VIEW shop.ids AS SELECT id FROM shop.items;\n',
    });
    cleanup.push(w.remove);
    const first = planSources(await input(w.root, new Map()));
    expect(first.needsDiff.size).toBe(0);
    expect(first.plan.steps.map((s) => s.key)).toEqual(['schema:shop', 'table:shop.items', 'view:shop.ids']);

    // Deployed as planned, then the table's file changes.
    const objects = new Map(first.plan.steps.map((s) => [s.key, s.checksum] as [string, string]));
    w.write('shop/t.sql', 'CREATE SCHEMA shop;\nCREATE TABLE shop.items (id int PRIMARY KEY, label text);\n');
    const changed = await input(w.root, new Map([['shop', { objects, migrations: new Map() }]]));
    const planned = planSources(changed);
    expect([...planned.needsDiff.keys()]).toEqual(['shop']);
    const needing = planned.needsDiff.get('shop')!;
    expect(needing.map((n) => n.object)).toEqual(['table:shop.items']);
    expect(needing[0]!.reason.code).toBe('OBJECT_NEEDS_DIFF');
    expect(needing[0]!.reason.location?.file).toContain('t.sql');
    // The project's objects are left to the diff: its plan has none of them.
    expect(planned.plan.steps).toEqual([]);

    const refused = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e;
      }
      return null;
    };
    for (const e of [refused(() => refuseNeedsDiff(planned)), refused(() => planFromSources(changed))]) {
      expect(e).toBeInstanceOf(DbeeError);
      expect((e as DbeeError).code).toBe('OBJECT_NEEDS_DIFF');
    }
  });
});
