import { expect, onTestFinished } from 'vitest';
import { run } from '../support/run';
import { dbYaml, type ENGINES, workspaceWith, type TestWorkspace } from './helpers';

/**
 * The shape of a dependency's release that makes PostgreSQL rewrite a dependent project's view in place, shared by
 * test/runner/rewritten-dependents.test.ts (one process per command) and test/workspace/batch-drift.test.ts (an Nx
 * batch): `sales` depends on `core` and has a view over core's table; core's release renames the column it reads.
 */

export const HAZARDS = { allowHazards: 'backward-incompatible' };

/** The workspace's projects: core's table, sales's view over it (`view`: sales/v.sql). */
export function projects(view: string, coreExtra = ''): Record<string, string> {
  return {
    'core/db.yaml': dbYaml('core', coreExtra),
    'core/schema.sql': 'CREATE SCHEMA core;\n',
    'core/t.sql': 'CREATE TABLE core.t (id int PRIMARY KEY, label text);\n',
    'sales/db.yaml': dbYaml('sales', 'dependsOn: [core]\n'),
    'sales/schema.sql': 'CREATE SCHEMA sales;\n',
    'sales/v.sql': view,
  };
}

/** Core's release: `core.t.label` renamed to `name` (declared). PostgreSQL rewrites sales's view over it. */
export function renameLabel(w: TestWorkspace): void {
  w.write('core/t.sql', 'CREATE TABLE core.t (id int PRIMARY KEY, name text);\n');
  w.write(
    'core/db.yaml',
    dbYaml('core', 'renames:\n  - { kind: column, schema: core, table: t, from: label, to: name }\n'),
  );
}

/** A workspace with `files`, core then sales deployed (deployments #1 and #2), each by a command of its own. */
export async function deployed(
  engine: (typeof ENGINES)[number],
  files: Record<string, string>,
): Promise<TestWorkspace> {
  const w = await workspaceWith(engine, files);
  onTestFinished(() => w.remove());
  for (const project of ['core', 'sales']) {
    const r = await run(w.root, 'deploy', { project, ...HAZARDS }, w.target.vars);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  }
  return w;
}
