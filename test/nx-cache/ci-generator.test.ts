import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/**
 * The dbee.yaml of docs/ci.md: an embedded `local` environment (never deployed by CI), `qa` and `prod` on servers, prod
 * with the gates of docs/gates.md's example (promoted from qa, a ticket, protected).
 */
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

/** The projects of docs/ci.md: sales depends on core, so a release packages sales (which holds core). */
const PROJECTS = {
  'databases/core/db.yaml': 'version: 1\nname: core\nengine: postgres\nschemas: [core]\n',
  'databases/sales/db.yaml': 'version: 1\nname: sales\nengine: postgres\nschemas: [sales]\ndependsOn: [core]\n',
};

async function generated(
  provider: 'github' | 'gitlab',
  dbeeYaml = docsDbeeYaml(),
  options: Record<string, unknown> = {},
): Promise<{ tree: Tree; text: string }> {
  const tree = createTreeWithEmptyWorkspace();
  tree.write('dbee.yaml', dbeeYaml);
  for (const [path, text] of Object.entries(PROJECTS)) tree.write(path, text);
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

type Step = {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  if?: string;
};
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
    expect(validateWorkflow(text.replace('needs: release-qa', 'needs: release-test')).errors).not.toEqual([]);
  });

  it('pull requests: checkout with history, npm cache, nx-set-shas, the Nx cache restored and saved, the Markdown diff as job summary', async () => {
    const workflow = parse((await generated('github')).text) as {
      on: Record<string, unknown>;
      env: Record<string, string>;
      jobs: Record<string, Job>;
    };
    expect(Object.keys(workflow.on)).toEqual(['pull_request', 'push']);
    expect(workflow.env).toMatchObject({ NX_DEFAULT_OUTPUT_STYLE: 'static' });
    const review = workflow.jobs['review']!;
    expect(review.if).toBe("github.event_name == 'pull_request'");
    const uses = (name: string) => review.steps.find((s) => s.uses?.startsWith(name));
    expect(uses('actions/checkout')?.with).toEqual({ 'fetch-depth': 0 });
    expect(uses('actions/setup-node')?.with).toMatchObject({ cache: 'npm' });
    expect(review.steps.some((s) => s.run === 'npm ci')).toBe(true);
    expect(uses('nrwl/nx-set-shas')).toBeDefined();
    expect(uses('actions/cache/restore')?.with).toMatchObject({ path: '.nx/cache' });
    expect(uses('actions/cache/save')?.with).toMatchObject({ path: '.nx/cache' });
    const run = review.steps.find((s) => s.run?.includes('nx affected -t diff'))!;
    expect(run.run).toContain('-c markdown');
    expect(run.env).toEqual({ DBEE_ENV: 'qa', DBEE_QA_URL: '${{ secrets.DBEE_QA_URL }}' });
    expect(review.steps.find((s) => s.run?.includes('GITHUB_STEP_SUMMARY'))?.run).toContain('dist/dbee/*/diff/diff.md');
    const annotate = review.steps.find((s) => s.run?.includes('--format=github'))!;
    expect(annotate.run).toBe('npx nx affected -t diff --format=github');
  });

  it("pushes that change the databases: the package built once on qa's job, the same folder promoted to prod with what its gates ask", async () => {
    const workflow = parse((await generated('github')).text) as {
      on: { push: { paths: string[] } };
      jobs: Record<string, Job>;
    };
    expect(workflow.on.push.paths).toEqual(['dbee.yaml', 'databases/core/**', 'databases/sales/**']);
    expect(Object.keys(workflow.jobs)).toEqual(['review', 'release-qa', 'release-prod']);
    const qa = workflow.jobs['release-qa']!;
    expect(qa).toMatchObject({ if: "github.event_name == 'push'", environment: 'qa' });
    expect(qa.needs).toBeUndefined();
    const build = qa.steps.find((s) => s.name === 'Build the release package')!;
    expect(build.run).toContain('npx dbee log "$project" --env qa --format json');
    expect(build.run).toContain(
      'npx dbee plan "$project" --env qa ${base:+--base "$base"} --out "dist/release/$project"',
    );
    expect(build.run).toContain('for project in sales; do');
    const deployQa = qa.steps.find((s) => s.name === 'Deploy the release package to qa')!;
    expect(deployQa.run).toContain('npx dbee deploy "$project" --env qa --package "dist/release/$project"\n');
    // qa signs the promotion record prod checks: both hold the key.
    expect(deployQa.env).toEqual({
      DBEE_ENV: 'qa',
      DBEE_QA_URL: '${{ secrets.DBEE_QA_URL }}',
      DBEE_PROMOTION_KEY: '${{ secrets.DBEE_PROMOTION_KEY }}',
    });
    expect(qa.steps.at(-1)).toMatchObject({ uses: 'actions/upload-artifact@v4', with: { name: 'dbee-release' } });

    const prod = workflow.jobs['release-prod']!;
    expect(prod).toMatchObject({
      needs: 'release-qa',
      environment: 'prod',
      concurrency: { group: 'dbee-release-prod' },
    });
    expect(prod.steps.some((s) => s.run?.includes('dbee plan'))).toBe(false);
    expect(prod.steps.find((s) => s.uses?.startsWith('actions/download-artifact'))?.with).toEqual({
      name: 'dbee-release',
      path: 'dist/release',
    });
    const promote = prod.steps.find((s) => s.name === 'Deploy the release package to prod')!;
    expect(promote.run).toContain(
      'npx dbee deploy "$project" --env prod --package "dist/release/$project" ${DBEE_TICKET:+--ticket "$DBEE_TICKET"} --assume-yes',
    );
    expect(promote.env).toEqual({
      DBEE_ENV: 'prod',
      DBEE_PROD_URL: '${{ secrets.DBEE_PROD_URL }}',
      DBEE_PROMOTION_KEY: '${{ secrets.DBEE_PROMOTION_KEY }}',
      DBEE_TICKET: '${{ vars.DBEE_TICKET }}',
    });
  });

  it('takes the environments, the projects, the main branch and the Node version from the options', async () => {
    const { text } = await generated('github', undefined, {
      environments: 'qa',
      projects: 'core',
      mainBranch: 'trunk',
      nodeVersion: '22',
    });
    const workflow = parse(text) as { on: { push: { branches: string[] } }; jobs: Record<string, Job> };
    expect(Object.keys(workflow.jobs)).toEqual(['review', 'release-qa']);
    expect(workflow.jobs['release-qa']!.steps.find((s) => s.name === 'Build the release package')?.run).toContain(
      'for project in core; do',
    );
    expect(workflow.on.push.branches).toEqual(['trunk']);
    expect(text).toContain('node-version: 22');
    expect(validateWorkflow(text).errors).toEqual([]);
  });
});

describe('the review comment on the pull request', () => {
  it('the first push posts the comment, a later push updates the one whose body starts with the marker', async () => {
    const review = (parse((await generated('github')).text) as { jobs: Record<string, Job> }).jobs['review']!;
    const step = review.steps.find((s) => s.name?.startsWith('Comment the review'))!;
    expect(step.env).toEqual({
      GH_TOKEN: '${{ github.token }}',
      PULL_REQUEST: '${{ github.event.pull_request.number }}',
    });
    expect(step.run).toContain(`select(.body | startswith("<!-- dbee-review -->"))`);
    // A stand-in for gh on PATH: it logs its arguments, and answers the comment search with what `found` holds
    // (what `gh api --jq` would print). GitHub's API itself is not reached.
    const dir = mkdtempSync(join(tmpdir(), 'dbee-gh-'));
    try {
      mkdirSync(join(dir, 'bin'));
      writeFileSync(
        join(dir, 'bin', 'gh'),
        `#!/bin/sh\necho "$*" >> "${dir}/calls"\ncase "$*" in *--jq*) cat "${dir}/found" ;; esac\n`,
        { mode: 0o755 },
      );
      const runStep = () =>
        execFileSync('bash', ['-e', '-c', step.run!], {
          cwd: dir,
          env: { PATH: `${dir}/bin:${process.env.PATH}`, GITHUB_REPOSITORY: 'team/app', PULL_REQUEST: '7' },
        });
      // The body: a stand-in npx answers `nx show projects` as Nx would; the Markdown diffs are the diff tasks'.
      writeFileSync(join(dir, 'bin', 'npx'), `#!/bin/sh\necho "$*" >> "${dir}/npx"\nprintf 'db-sales\\ndb-core\\n'\n`, {
        mode: 0o755,
      });
      for (const p of ['db-core', 'db-sales']) {
        mkdirSync(join(dir, 'dist', 'dbee', p, 'diff'), { recursive: true });
        writeFileSync(join(dir, 'dist', 'dbee', p, 'diff', 'diff.md'), `### ${p}: 2 changes\n`);
      }
      const body = review.steps.find((s) => s.name === 'Write the review as the job summary')!;
      execFileSync('bash', ['-e', '-c', body.run!], {
        cwd: dir,
        env: { PATH: `${dir}/bin:${process.env.PATH}`, GITHUB_STEP_SUMMARY: join(dir, 'summary') },
      });
      expect(readFileSync(join(dir, 'npx'), 'utf8')).toBe('nx show projects --affected -t diff\n');
      const text = readFileSync(join(dir, 'dist', 'dbee-review.md'), 'utf8');
      expect(text).toBe(
        '<!-- dbee-review -->\n## Databases\n\nAffected database projects: db-core, db-sales\n\n### db-core: 2 changes\n\n### db-sales: 2 changes\n',
      );
      expect(readFileSync(join(dir, 'summary'), 'utf8')).toBe(text);

      writeFileSync(join(dir, 'found'), '');
      runStep();
      writeFileSync(join(dir, 'found'), '4242\n');
      runStep();
      const calls = readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n');
      expect(calls.filter((c) => !c.includes('--jq'))).toEqual([
        'api -X POST repos/team/app/issues/7/comments -F body=@dist/dbee-review.md',
        'api -X PATCH repos/team/app/issues/comments/4242 -F body=@dist/dbee-review.md',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('nx g @dbee/nx:ci reads the gates: a job for each', () => {
  it('an environment without gates gets neither ticket, confirmation nor key', async () => {
    const plain = docsDbeeYaml().replace(/ {4}gates:\n( {6}.*\n)+/, '');
    expect(plain).not.toContain('gates:');
    const github = (await generated('github', plain)).text;
    expect(github).toContain('--env prod --package "dist/release/$project"\n');
    expect(github).not.toContain('DBEE_TICKET');
    expect(github).not.toContain('DBEE_PROMOTION_KEY');
    expect(validateWorkflow(github).errors).toEqual([]);
  });

  it('gates.promotionKey names the secret both jobs hold; promotedFrom an environment the pipeline does not deploy first is refused', async () => {
    const named = docsDbeeYaml().replace(
      '      promotedFrom: [qa]\n',
      '      promotedFrom: [qa]\n      promotionKey: RELEASE_KEY\n',
    );
    const github = parse((await generated('github', named)).text) as { jobs: Record<string, Job> };
    for (const job of ['release-qa', 'release-prod']) {
      const deploy = github.jobs[job]!.steps.find((s) => s.name?.startsWith('Deploy'))!;
      expect(deploy.env?.['RELEASE_KEY']).toBe('${{ secrets.RELEASE_KEY }}');
    }
    const error = await generated('github', undefined, { environments: 'prod' }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/prod is promoted from "qa" \(gates.promotedFrom\).*--environments \(qa,prod\)/);
  });
});

describe('nx g @dbee/nx:ci --provider=gitlab', () => {
  it("writes a .gitlab-ci.yml that GitLab's schema accepts, and the schema refuses a broken one", async () => {
    const { text } = await generated('gitlab');
    expect(gitlabErrors(text)).toEqual([]);
    expect(gitlabErrors(text.replace('  script:\n    - |\n', '  scripts:\n    - |\n'))).not.toEqual([]);
  });

  it('merge requests get the Markdown diff as an artifact; the main branch builds the package on qa, prod takes it when a person starts the job', async () => {
    const { text } = await generated('gitlab');
    const github = parse((await generated('github')).text) as { jobs: Record<string, Job> };
    const pipeline = parse(text) as Record<string, Record<string, unknown>>;
    expect(pipeline['variables']).toMatchObject({ GIT_DEPTH: '0', NX_DEFAULT_OUTPUT_STYLE: 'static' });
    expect(pipeline['workflow']).toMatchObject({
      rules: [{}, { changes: ['dbee.yaml', 'databases/core/**', 'databases/sales/**'] }],
    });
    expect(pipeline['dbee-review']).toMatchObject({
      variables: { DBEE_ENV: 'qa' },
      artifacts: { expose_as: 'database review', paths: ['dist/dbee-review.md'] },
    });
    expect((pipeline['dbee-review']!['after_script'] as string[]).join('\n')).toContain('DBEE_REVIEW_TOKEN');
    expect(JSON.stringify(pipeline['dbee-review']!['cache'])).toContain('.nx/cache/');
    expect(pipeline['dbee-release-qa']).toMatchObject({
      environment: { name: 'qa' },
      variables: { DBEE_ENV: 'qa' },
      needs: [],
      artifacts: { paths: ['dist/release/'] },
    });
    expect(pipeline['dbee-release-prod']).toMatchObject({
      environment: { name: 'prod' },
      needs: [{ job: 'dbee-release-qa', artifacts: true }],
      rules: [{ when: 'manual' }],
    });
    // The same shell as GitHub's steps: build then deploy on qa, deploy only on prod.
    const steps = (job: string) => github.jobs[job]!.steps.filter((s) => s.name && s.run).map((s) => s.run!);
    expect((pipeline['dbee-release-qa']!['script'] as string[]).join('')).toBe(steps('release-qa').join(''));
    expect((pipeline['dbee-release-prod']!['script'] as string[]).join('')).toBe(steps('release-prod').join(''));
  });
});

describe('nx g @dbee/nx:ci with preview: in dbee.yaml (docs/preview.md)', () => {
  it('a preview database per pull request, made from qa on each push and dropped (orphans too) when it closes', async () => {
    const yaml = `${docsDbeeYaml()}preview:\n  maxAge: 7d\n`;
    const { text } = await generated('github', yaml);
    expect(validateWorkflow(text).errors).toEqual([]);
    const workflow = parse(text) as { on: { pull_request: { types: string[] } }; jobs: Record<string, Job> };
    expect(workflow.on.pull_request.types).toContain('closed');
    expect(Object.keys(workflow.jobs)).toEqual(['review', 'preview', 'preview-drop', 'release-qa', 'release-prod']);
    expect(workflow.jobs['review']!.if).toContain("github.event.action != 'closed'");
    const run = (job: string) => workflow.jobs[job]!.steps.find((s) => s.run?.includes('dbee preview'))!;
    expect(workflow.jobs['preview']!.if).toContain("github.event.action != 'closed'");
    expect(run('preview').run).toContain('npx dbee preview "$project" create --env qa --name "pr-$PULL_REQUEST"');
    expect(run('preview').env).toEqual({
      DBEE_ENV: 'qa',
      DBEE_QA_URL: '${{ secrets.DBEE_QA_URL }}',
      PULL_REQUEST: '${{ github.event.pull_request.number }}',
    });
    expect(workflow.jobs['preview-drop']!.if).toContain("github.event.action == 'closed'");
    expect(run('preview-drop').run).toBe(
      'npx dbee preview sales drop --env qa --name "pr-$PULL_REQUEST"\nnpx dbee preview sales cleanup --env qa\n',
    );
    // Without limits nothing says what an orphan is: the close job drops its own preview only.
    const bare = parse((await generated('github', `${docsDbeeYaml()}preview: {}\n`)).text) as typeof workflow;
    expect(bare.jobs['preview-drop']!.steps.at(-1)!.run).not.toContain('cleanup');

    const gitlab = (await generated('gitlab', yaml)).text;
    expect(gitlabErrors(gitlab)).toEqual([]);
    const pipeline = parse(gitlab) as Record<string, Record<string, unknown>>;
    expect(pipeline['dbee-preview']).toMatchObject({
      variables: { DBEE_ENV: 'qa' },
      environment: { name: 'preview/mr-$CI_MERGE_REQUEST_IID', on_stop: 'dbee-preview-drop' },
    });
    expect(pipeline['dbee-preview-drop']).toMatchObject({
      environment: { name: 'preview/mr-$CI_MERGE_REQUEST_IID', action: 'stop' },
      rules: [{ when: 'manual' }],
    });
    expect((pipeline['dbee-preview-drop']!['script'] as string[]).join('')).toContain(
      'npx dbee preview sales drop --env qa --name "mr-$CI_MERGE_REQUEST_IID"',
    );
    // Without preview: the pipelines are as docs/ci.md lists them (no preview job).
    expect(parse((await generated('github')).text).jobs.preview).toBeUndefined();
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
    expect(await refusal(generated('github', undefined, { environments: 'qa,staging' }))).toMatch(
      /"staging" not declared in dbee.yaml \(environments: local, qa, prod\)/,
    );
    expect(await refusal(generated('github', undefined, { environments: 'local' }))).toMatch(/"local" is embedded/);
    expect(await refusal(generated('bitbucket' as 'github'))).toMatch(/--provider "bitbucket" is not known/);
    const noProject = createTreeWithEmptyWorkspace();
    noProject.write('dbee.yaml', docsDbeeYaml());
    expect(await refusal(ciGenerator(noProject, { provider: 'github' }))).toMatch(/no database project: add one/);
    expect(await refusal(generated('github', undefined, { projects: 'billing' }))).toMatch(
      /--projects: "billing" is no database project \(projects: core, sales\)/,
    );
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
