import type { GeneratorCallback, Tree } from '@nx/devkit';
import { WORKSPACE_FILE, YamlFile } from '@dbee/core';
import { GeneratorError, treeProjects } from '../workspace-projects';
import type { VscodeGeneratorSchema } from './schema';

/** Where Visual Studio Code reads a workspace's tasks. */
export const TASKS_FILE = '.vscode/tasks.json';

/** Where Visual Studio Code reads the extensions a workspace recommends. */
export const EXTENSIONS_FILE = '.vscode/extensions.json';

/** dbee's extension (packages/vscode: publisher and name), the client of `dbee lsp`. */
export const EXTENSION_ID = 'dbee-dev.dbee-vscode';

/**
 * The line `--format gcc` prints (`file:line:col: severity: message [rule]`), as the problem matcher's pattern: file,
 * line, column, severity, message. A `dbee: ...` line (a finding without a file) does not match, and is left to the
 * terminal.
 */
export const GCC_LINE = '^(.+?):(\\d+):(\\d+): (error|warning): (.*)$';

/** The tasks this generator owns, by label: written again on each run, the others kept. */
const PREFIX = 'dbee: ';

/**
 * `nx g @dbee/nx:vscode`: `.vscode/tasks.json` with tasks that run `dbee diff` (against an environment, or against a
 * git ref: no database) and `dbee check` in `--format gcc`, and a problem matcher that shows their findings in the
 * Problems panel at the files and lines of the pull request's annotations. The project and environment are asked
 * when a task runs (VS Code's `inputs`, from the workspace's projects and dbee.yaml). Tasks and inputs of other tools
 * in an existing file are kept; a file that is not plain JSON (comments) is refused rather than rewritten. It also
 * recommends dbee's extension (`.vscode/extensions.json`), the client of `dbee lsp`, beside the other recommendations.
 */
export async function vscodeGenerator(tree: Tree, options: VscodeGeneratorSchema): Promise<GeneratorCallback> {
  const projects = treeProjects(tree)
    .map((p) => p.name)
    .sort();
  if (!projects.length) {
    throw new GeneratorError(
      'the workspace has no database project: add one (`nx g @dbee/nx:project`), then run this generator again',
    );
  }
  const environments = environmentsOf(tree);
  const base = (options.base ?? 'main').trim();
  const existing = readTasks(tree);
  const tasks = [
    task('diff against an environment', `diff \${input:dbeeProject} --env \${input:dbeeEnvironment}`),
    task(`diff against ${base} (git, no database)`, `diff \${input:dbeeProject} --base ${base}`),
    task('check application queries', `check \${input:dbeeProject} --env \${input:dbeeEnvironment}`),
  ];
  const inputs = [
    { id: 'dbeeProject', type: 'pickString', description: 'dbee project', options: projects, default: projects[0] },
    {
      id: 'dbeeEnvironment',
      type: 'pickString',
      description: 'environment of dbee.yaml',
      options: environments,
      ...(environments[0] ? { default: environments[0] } : {}),
    },
  ];
  const ours = new Set(inputs.map((i) => i.id));
  const file = {
    ...existing,
    version: '2.0.0',
    tasks: [...(existing.tasks ?? []).filter((t) => !String(t.label ?? '').startsWith(PREFIX)), ...tasks],
    inputs: [...(existing.inputs ?? []).filter((i) => !ours.has(String(i.id))), ...inputs],
  };
  const extensions = readJsonObject(tree, EXTENSIONS_FILE) as { recommendations?: unknown[] };
  const recommendations = Array.isArray(extensions.recommendations) ? extensions.recommendations : [];
  tree.write(TASKS_FILE, `${JSON.stringify(file, null, 2)}\n`);
  if (!recommendations.includes(EXTENSION_ID))
    tree.write(
      EXTENSIONS_FILE,
      `${JSON.stringify({ ...extensions, recommendations: [...recommendations, EXTENSION_ID] }, null, 2)}\n`,
    );
  return () => {};
}

/** One task: `npx dbee <args> --format gcc` in the workspace, its findings through the gcc-line matcher. */
function task(label: string, args: string) {
  return {
    label: `${PREFIX}${label}`,
    type: 'shell',
    command: `npx dbee ${args} --format gcc`,
    options: { cwd: '${workspaceFolder}' },
    problemMatcher: {
      owner: 'dbee',
      source: 'dbee',
      fileLocation: ['relative', '${workspaceFolder}'],
      pattern: { regexp: GCC_LINE, file: 1, line: 2, column: 3, severity: 4, message: 5 },
    },
  };
}

/** The environments of dbee.yaml, in its order (none when it is missing or does not parse). */
function environmentsOf(tree: Tree): string[] {
  const text = tree.read(WORKSPACE_FILE, 'utf-8');
  if (text === null) return [];
  try {
    const config = YamlFile.parse(text, WORKSPACE_FILE).toJS() as { environments?: Record<string, unknown> } | null;
    return Object.keys(config?.environments ?? {});
  } catch {
    return [];
  }
}

type TasksFile = { tasks?: Record<string, unknown>[]; inputs?: Record<string, unknown>[]; [key: string]: unknown };

function readTasks(tree: Tree): TasksFile {
  return readJsonObject(tree, TASKS_FILE) as TasksFile;
}

/** A JSON object file of `.vscode/` (empty when there is none); one that is not plain JSON is refused, never rewritten. */
function readJsonObject(tree: Tree, path: string): Record<string, unknown> {
  const text = tree.read(path, 'utf-8');
  if (text === null) return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // refused below
  }
  throw new GeneratorError(
    `${path} is not plain JSON (comments, or another shape): add the dbee entries by hand (docs/ci.md, docs/editor.md), or remove the comments and run this generator again`,
  );
}

export default vscodeGenerator;
