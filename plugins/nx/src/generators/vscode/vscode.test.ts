import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { describe, expect, it } from 'vitest';
import { GeneratorError } from '../workspace-projects';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXTENSION_ID, EXTENSIONS_FILE, GCC_LINE, TASKS_FILE, vscodeGenerator } from './vscode';

const DBEE_YAML =
  'version: 1\ndefaultEnvironment: local\nenvironments:\n  local:\n    engine: postgres\n    connection: { embedded: .dbee/local }\n  qa:\n    engine: postgres\n    connection: { url: "${QA_URL}" }\n';

function workspace() {
  const tree = createTreeWithEmptyWorkspace();
  tree.write('dbee.yaml', DBEE_YAML);
  tree.write('db/sales/db.yaml', 'version: 1\nname: sales\nengine: postgres\nschemas: [sales]\n');
  tree.write('db/core/db.yaml', 'version: 1\nname: core\nengine: postgres\nschemas: [core]\n');
  return tree;
}

type Tasks = {
  tasks: { label: string; command: string; problemMatcher?: { pattern: { regexp: string } } }[];
  inputs: { id: string; options?: string[] }[];
};

describe('nx g @dbee/nx:vscode', () => {
  it('writes gcc-format tasks with a problem matcher, asking for the project and environment of the workspace', async () => {
    const tree = workspace();
    await vscodeGenerator(tree, {});
    const file = JSON.parse(tree.read(TASKS_FILE, 'utf-8')!) as Tasks;
    expect(file.tasks.map((t) => t.command)).toEqual([
      'npx dbee diff ${input:dbeeProject} --env ${input:dbeeEnvironment} --format gcc',
      'npx dbee diff ${input:dbeeProject} --base main --format gcc',
      'npx dbee check ${input:dbeeProject} --env ${input:dbeeEnvironment} --format gcc',
    ]);
    expect(file.inputs).toMatchObject([
      { id: 'dbeeProject', options: ['core', 'sales'] },
      { id: 'dbeeEnvironment', options: ['local', 'qa'] },
    ]);
    const matcher = new RegExp(file.tasks[0]!.problemMatcher!.pattern.regexp);
    expect(matcher.source).toBe(new RegExp(GCC_LINE).source);
    expect('db/core/t.sql:3:1: error: drops column [hazard/data-loss]'.match(matcher)?.slice(1, 5)).toEqual([
      'db/core/t.sql',
      '3',
      '1',
      'error',
    ]);
  });

  it("keeps other tools' tasks and replaces its own on a second run; refuses a file with comments", async () => {
    const tree = workspace();
    tree.write(TASKS_FILE, JSON.stringify({ version: '2.0.0', tasks: [{ label: 'build app', command: 'make' }] }));
    await vscodeGenerator(tree, {});
    const once = tree.read(TASKS_FILE, 'utf-8');
    await vscodeGenerator(tree, {});
    expect(tree.read(TASKS_FILE, 'utf-8')).toBe(once);
    const file = JSON.parse(once!) as Tasks;
    expect(file.tasks.map((t) => t.label)).toEqual([
      'build app',
      'dbee: diff against an environment',
      'dbee: diff against main (git, no database)',
      'dbee: check application queries',
    ]);
    tree.write(TASKS_FILE, '{\n  // mine\n  "version": "2.0.0"\n}\n');
    const error = await vscodeGenerator(tree, {}).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(GeneratorError);
    expect(error?.message).toMatch(/not plain JSON/);
    expect(tree.read(TASKS_FILE, 'utf-8')).toContain('// mine');
  });

  it("recommends dbee's extension (packages/vscode) beside the workspace's other recommendations, once", async () => {
    const extension = JSON.parse(
      readFileSync(join(__dirname, '..', '..', '..', '..', '..', 'packages', 'vscode', 'package.json'), 'utf8'),
    ) as { publisher: string; name: string };
    expect(EXTENSION_ID).toBe(`${extension.publisher}.${extension.name}`);
    const tree = workspace();
    tree.write(EXTENSIONS_FILE, JSON.stringify({ recommendations: ['dbaeumer.vscode-eslint'] }));
    await vscodeGenerator(tree, {});
    await vscodeGenerator(tree, {});
    expect(JSON.parse(tree.read(EXTENSIONS_FILE, 'utf-8')!)).toEqual({
      recommendations: ['dbaeumer.vscode-eslint', EXTENSION_ID],
    });
  });
});
