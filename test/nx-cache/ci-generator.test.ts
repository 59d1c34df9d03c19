import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { validateWorkflow } from '@action-validator/core';
import { readNxJson, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ciGenerator } from '../../plugins/nx/src/generators/ci/ci';
import { GeneratorError } from '../../plugins/nx/src/generators/workspace-projects';

const REPO = resolve(__dirname, '..', '..');

/**
 * `nx g @dbee/nx:ci`: the generated pipelines are checked by maintained validators, offline: the GitHub workflow by
 * @action-validator/core (SchemaStore's workflow schema, and job references), the GitLab pipeline by ajv against
 * GitLab's own schema (vendored, see schemas/README.md). docs/ci.md lists exactly what the generator writes.
 */

/** The dbee.yaml of docs/ci.md: an embedded `local` environment (never deployed by CI), `test` and `prod` on servers. */
function docsDbeeYaml(): string {
  return listing(readFileSync(join(REPO, 'docs', 'ci.md'), 'utf8'), 'dbee.yaml');
}

/** The code block after `<!-- listing: <name> -->` in a Markdown page. */
function listing(page: string, name: string): string {
  const marker = `<!-- listing: ${name} -->`;
  const at = page.indexOf(marker);
  if (at < 0) throw new Error(`docs/ci.md has no ${marker}`);
  const block = /```[a-z]*\n([\s\S]*?)```/.exec(page.slice(at + marker.length));
  if (!block) throw new Error(`docs/ci.md: no code block after ${marker}`);
  return block[1]!;
}

async function generated(
  provider: 'github' | 'gitlab',
  dbeeYaml = docsDbeeYaml(),
  options: Record<string, unknown> = {},
): Promise<{ tree: Tree; text: string }> {
  const tree = createTreeWithEmptyWorkspace();
  tree.write('dbee.yaml', dbeeYaml);
  await ciGenerator(tree, { provider, ...options });
  const file = provider === 'github' ? '.github/workflows/dbee.yml' : '.gitlab-ci.yml';
  return { tree, text: tree.read(file, 'utf-8')! };
}

function gitlabErrors(text: string): string[] {
  const schema = JSON.parse(readFileSync(join(__dirname, 'schemas', 'gitlab-ci.schema.json'), 'utf8')) as object;
  const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
  return validate(parse(text))
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}

type Step = { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string>; if?: string };
type Job = {
  if?: string;
  needs?: string | string[];
  environment?: string;
  steps: Step[];
  concurrency?: { group: string };
};

describe('nx g @dbee/nx:ci --provider=github', () => {
  it('writes a workflow that @action-validator/core accepts, and pins the Nx cache folder it caches', async () => {
    const { tree, text } = await generated('github');
    expect(validateWorkflow(text).errors).toEqual([]);
    expect(readNxJson(tree)?.cacheDirectory).toBe('.nx/cache');
  });

  it('the validator is not blind: it refuses the workflow with a job lacking runs-on, or needing a job that does not exist', async () => {
    const { text } = await generated('github');
    expect(validateWorkflow(text.replace('    runs-on: ubuntu-latest\n', '')).errors).not.toEqual([]);
    expect(validateWorkflow(text.replace('needs: deploy-test', 'needs: deploy-qa')).errors).not.toEqual([]);
  });

  it('pull requests: checkout with history, npm cache, nx-set-shas, the Nx cache restored and saved, the Markdown diff as job summary', async () => {
    const workflow = parse((await generated('github')).text) as {
      on: Record<string, unknown>;
      env: Record<string, string>;
      jobs: Record<string, Job>;
    };
    expect(Object.keys(workflow.on)).toEqual(['pull_request', 'push']);
    expect(workflow.env).toMatchObject({ NX_DEFAULT_OUTPUT_STYLE: 'static' });
    const diff = workflow.jobs['diff']!;
    expect(diff.if).toBe("github.event_name == 'pull_request'");
    const uses = (name: string) => diff.steps.find((s) => s.uses?.startsWith(name));
    expect(uses('actions/checkout')?.with).toEqual({ 'fetch-depth': 0 });
    expect(uses('actions/setup-node')?.with).toMatchObject({ cache: 'npm' });
    expect(diff.steps.some((s) => s.run === 'npm ci')).toBe(true);
    expect(uses('nrwl/nx-set-shas')).toBeDefined();
    expect(uses('actions/cache/restore')?.with).toMatchObject({ path: '.nx/cache' });
    expect(uses('actions/cache/save')?.with).toMatchObject({ path: '.nx/cache' });
    const run = diff.steps.find((s) => s.run?.includes('nx affected -t diff'))!;
    expect(run.run).toContain('-c markdown');
    expect(run.env).toEqual({ DBEE_ENV: 'test', DBEE_TEST_URL: '${{ secrets.DBEE_TEST_URL }}' });
    expect(diff.steps.find((s) => s.run?.includes('GITHUB_STEP_SUMMARY'))?.run).toContain('dist/dbee/*/diff/diff.md');
  });

  it('pushes: one deploy job per server environment, in order, with DBEE_ENV and the connection from a secret, prod in its GitHub environment', async () => {
    const workflow = parse((await generated('github')).text) as { jobs: Record<string, Job> };
    expect(Object.keys(workflow.jobs)).toEqual(['diff', 'deploy-test', 'deploy-prod']);
    const prod = workflow.jobs['deploy-prod']!;
    expect(prod).toMatchObject({
      if: "github.event_name == 'push'",
      needs: 'deploy-test',
      environment: 'prod',
      concurrency: { group: 'dbee-deploy-prod' },
    });
    const deploy = prod.steps.find((s) => s.run?.includes('nx affected'))!;
    expect(deploy.run).toBe('npx nx affected -t deploy --excludeTaskDependencies');
    expect(deploy.env).toEqual({ DBEE_ENV: 'prod', DBEE_PROD_URL: '${{ secrets.DBEE_PROD_URL }}' });
    expect(workflow.jobs['deploy-test']!.needs).toBeUndefined();
  });

  it('takes the environments, the main branch and the Node version from the options', async () => {
    const { text } = await generated('github', undefined, {
      environments: 'prod',
      mainBranch: 'trunk',
      nodeVersion: '22',
    });
    const workflow = parse(text) as { on: { push: { branches: string[] } }; jobs: Record<string, Job> };
    expect(Object.keys(workflow.jobs)).toEqual(['diff', 'deploy-prod']);
    expect(workflow.on.push.branches).toEqual(['trunk']);
    expect(text).toContain('node-version: 22');
    expect(validateWorkflow(text).errors).toEqual([]);
  });
});

describe('nx g @dbee/nx:ci, an environment that dbee.yaml protects (gates.protected)', () => {
  it('deploys it with --assumeYes: the approval in CI stands for the typed confirmation no one can give there', async () => {
    const protectedProd = docsDbeeYaml().replace(
      '      url: ${DBEE_PROD_URL}\n',
      '      url: ${DBEE_PROD_URL}\n    gates:\n      protected: true\n',
    );
    expect(protectedProd).toContain('protected: true');
    const github = (await generated('github', protectedProd)).text;
    expect(github).toContain(
      'run: npx nx affected -t deploy --excludeTaskDependencies --assumeYes\n        env:\n          DBEE_ENV: prod',
    );
    expect(github).toContain(
      'run: npx nx affected -t deploy --excludeTaskDependencies\n        env:\n          DBEE_ENV: test',
    );
    expect(validateWorkflow(github).errors).toEqual([]);
    const gitlab = (await generated('gitlab', protectedProd)).text;
    expect(gitlab).toContain('--assumeYes --base=$CI_COMMIT_BEFORE_SHA');
    expect(gitlabErrors(gitlab)).toEqual([]);
  });
});

describe('nx g @dbee/nx:ci --provider=gitlab', () => {
  it("writes a .gitlab-ci.yml that GitLab's schema accepts, and the schema refuses a broken one", async () => {
    const { text } = await generated('gitlab');
    expect(gitlabErrors(text)).toEqual([]);
    expect(
      gitlabErrors(
        text.replace('  script:\n    - npx nx affected -t deploy', '  scripts:\n    - npx nx affected -t deploy'),
      ),
    ).not.toEqual([]);
  });

  it('merge requests get the Markdown diff as an artifact; the main branch deploys test, then prod when a person starts it', async () => {
    const pipeline = parse((await generated('gitlab')).text) as Record<string, Record<string, unknown>>;
    expect(pipeline['variables']).toMatchObject({ GIT_DEPTH: '0', NX_DEFAULT_OUTPUT_STYLE: 'static' });
    expect(pipeline['dbee-diff']).toMatchObject({
      variables: { DBEE_ENV: 'test' },
      artifacts: { expose_as: 'database diff', paths: ['dbee-diff.md'] },
    });
    expect(JSON.stringify(pipeline['dbee-diff']!['cache'])).toContain('.nx/cache/');
    expect(pipeline['dbee-deploy-test']).toMatchObject({
      environment: { name: 'test' },
      variables: { DBEE_ENV: 'test' },
      needs: [],
    });
    expect(pipeline['dbee-deploy-prod']).toMatchObject({
      environment: { name: 'prod' },
      needs: ['dbee-deploy-test'],
      rules: [{ when: 'manual' }],
    });
    expect((pipeline['dbee-deploy-prod']!['script'] as string[])[0]).toContain(
      'nx affected -t deploy --excludeTaskDependencies',
    );
  });
});

describe('nx g @dbee/nx:ci refuses what it cannot do, changing nothing', () => {
  const refusal = async (run: Promise<unknown>) => {
    const error = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GeneratorError);
    return (error as Error).message;
  };

  it('no dbee.yaml, no server environment, an unknown or embedded environment, an unknown provider', async () => {
    expect(await refusal(ciGenerator(createTreeWithEmptyWorkspace(), { provider: 'github' }))).toMatch(
      /dbee.yaml not found: run `nx add @dbee\/nx` first/,
    );
    const localOnly =
      'version: 1\ndefaultEnvironment: local\nenvironments:\n  local:\n    engine: postgres\n    connection: { embedded: .dbee/local }\n';
    expect(await refusal(generated('github', localOnly))).toMatch(/declares no server environment/);
    expect(await refusal(generated('github', undefined, { environments: 'test,staging' }))).toMatch(
      /"staging" not declared in dbee.yaml \(environments: local, test, prod\)/,
    );
    expect(await refusal(generated('github', undefined, { environments: 'local' }))).toMatch(/"local" is embedded/);
    expect(await refusal(generated('bitbucket' as 'github'))).toMatch(/--provider "bitbucket" is not known/);
  });

  it('a pipeline file it did not write is kept unless --overwrite; running it again changes nothing', async () => {
    const { tree, text } = await generated('github');
    await ciGenerator(tree, { provider: 'github' });
    expect(tree.read('.github/workflows/dbee.yml', 'utf-8')).toBe(text);
    tree.write('.github/workflows/dbee.yml', 'name: ours\n');
    expect(await refusal(ciGenerator(tree, { provider: 'github' }))).toMatch(/already exists and differs.*--overwrite/);
    expect(tree.read('.github/workflows/dbee.yml', 'utf-8')).toBe('name: ours\n');
    await ciGenerator(tree, { provider: 'github', overwrite: true });
    expect(tree.read('.github/workflows/dbee.yml', 'utf-8')).toBe(text);
  });
});

describe('docs/ci.md', () => {
  it("lists exactly the generator's output for the dbee.yaml it shows", async () => {
    const page = readFileSync(join(REPO, 'docs', 'ci.md'), 'utf8');
    expect(listing(page, '.github/workflows/dbee.yml')).toBe((await generated('github')).text);
    expect(listing(page, '.gitlab-ci.yml')).toBe((await generated('gitlab')).text);
  });
});
