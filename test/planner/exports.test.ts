import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { engineByName, runDbeeCommand } from '@dbee/cli';
import { makeReporter, planFromSources, settleBackground, Workspace, type OperationContext } from '@dbee/core';
import { loadModels, schemaOwners } from '../../packages/core/src/context/load';
import { dbYaml, ENGINES, workspaceWith, type TestWorkspace } from '../runner/helpers';

/**
 * Planning cost independent of depth (issue #19 point 4): a project planned on its own reads its own sources and
 * what its dependencies exported when they were last parsed (.dbee/cache/exports), not their whole closure's sources.
 */

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

// c0 <- b1 <- a2: a2 depends on b1, b1 on c0.
const FILES = {
  'c0/db.yaml': dbYaml('c0'),
  'c0/t.sql': 'CREATE TABLE c0.items (id int PRIMARY KEY, label text NOT NULL);\n',
  'b1/db.yaml': dbYaml('b1', 'dependsOn: [c0]\n'),
  'b1/v.sql': 'CREATE VIEW b1.labels AS SELECT id, label FROM c0.items;\n',
  'a2/db.yaml': dbYaml('a2', 'dependsOn: [b1]\n'),
  'a2/t.sql': 'CREATE TABLE a2.seen (id int PRIMARY KEY);\n',
  'a2/v.sql': 'CREATE VIEW a2.recent AS SELECT l.id, l.label FROM b1.labels l JOIN a2.seen s USING (id);\n',
};

function context(root: string, env: NodeJS.ProcessEnv): OperationContext {
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  return {
    workspace: Workspace.load(root),
    stdout: sink,
    stderr: sink,
    env: { ...process.env, ...env },
    interactive: false,
    fromNx: true,
    engine: engineByName,
    reporter: makeReporter(sink, sink),
    toolVersion: 'test',
  };
}

async function deploy(w: TestWorkspace, project: string, fromNx: boolean): Promise<string> {
  let out = '';
  const sink = new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) });
  const code = await runDbeeCommand(
    'deploy',
    { project },
    {
      workspaceRoot: w.root,
      stdout: sink,
      stderr: sink,
      env: { ...process.env, ...w.target.vars },
      interactive: false,
      fromNx,
    },
  );
  expect(code, out).toBe(0);
  return out;
}

describe.each(ENGINES)('a project planned alone reads its dependencies from their exports [%s]', (engine) => {
  it('the dependencies come from their exports once parsed, with the same objects, and plan the same steps', async () => {
    const w = await workspaceWith(engine, FILES);
    workspaces.push(w);
    const ctx = context(w.root, w.target.vars);
    const environment = ctx.workspace.environment(undefined, ctx.env);
    const all = ctx.workspace.withDependencies('a2');
    const eng = engineByName('postgres');
    const parsed = await loadModels(ctx, all, environment, eng, { exportsFor: ['a2'] });
    // Exports are written in the background; an operation waits for them before it ends, as here.
    await settleBackground();
    // Nothing was exported yet: every project was parsed, and each wrote its exports.
    expect(parsed.map((m) => [m.project.name, m.files.length > 0])).toEqual([
      ['c0', true],
      ['b1', true],
      ['a2', true],
    ]);
    expect(existsSync(join(w.root, '.dbee', 'cache', 'exports'))).toBe(true);

    const exported = await loadModels(ctx, all, environment, eng, { exportsFor: ['a2'] });
    // c0 and b1 from their exports (no files read), a2 from its sources.
    expect(exported.map((m) => [m.project.name, m.files.length > 0])).toEqual([
      ['c0', false],
      ['b1', false],
      ['a2', true],
    ]);
    for (const i of [0, 1]) {
      expect(exported[i]!.objects.map((o) => [o.id, o.location])).toEqual(
        parsed[i]!.objects.map((o) => [o.id, o.location]),
      );
      expect(exported[i]!.graph).toEqual(parsed[i]!.graph);
    }
    const owners = schemaOwners(ctx, environment);
    const plan = (models: typeof parsed) =>
      planFromSources({ engine: eng, models, planned: ['a2'], schemaOwners: owners });
    expect(plan(exported)).toEqual(plan(parsed));
  });

  it('a changed table of a project whose dependencies come from exports is planned by a diff built from their sources', async () => {
    const w = await workspaceWith(engine, FILES);
    workspaces.push(w);
    await deploy(w, 'a2', false); // c0, b1, a2; every project exported
    // A column added to a2's table: only a diff against the live schema can plan it, and the desired model of a2 needs
    // b1's and c0's objects in the shadow (a2.recent reads b1.labels), which their exports do not hold.
    w.write('a2/t.sql', 'CREATE TABLE a2.seen (id int PRIMARY KEY, at timestamptz);\n');
    const out = await deploy(w, 'a2', true);
    expect(out).toContain('planning this project by a diff');
    expect(
      await w.target.query(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = 'a2' AND table_name = 'seen' ORDER BY ordinal_position`,
      ),
    ).toEqual([{ column_name: 'id' }, { column_name: 'at' }]);
    // The same deploy again: nothing to do, planned from the exports alone.
    rmSync(join(w.root, '.dbee', 'cache', 'models'), { recursive: true, force: true });
    expect(await deploy(w, 'a2', true)).toContain('a2: nothing to deploy');
  });
});
