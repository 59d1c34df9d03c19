import { execFile } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateWorkflow } from '@action-validator/core';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ciGenerator } from '../../plugins/nx/src/generators/ci/ci';
import { releasePglite } from '../support/pglite-share';
import { TEAM_DBEE_YAML, TEAM_FILES, TeamWorkspace } from '../support/team-workspace';
import { childEnvironment } from '../support/child-env';

/**
 * The release flow `nx g @dbee/nx:ci --provider=github` writes, run as GitHub's runner would: each job of a push to
 * main, its `run` steps in order with bash -e, their `env` with the secrets and variables of the job's environment
 * only (the prod job cannot reach qa's database), a fresh checkout between jobs (dist/ removed) and the artifact
 * passed by upload-artifact / download-artifact. The environments are the team workspace's qa and prod on the
 * server, with the gates of docs/gates.md's example: prod is promoted from qa, needs a ticket, and is protected.
 */

const PROD_GATES = `    gates:
      promotedFrom: [qa]
      requireTicket: "^CHG-[0-9]+$"
      protected: true
`;

/**
 * `npx <bin> <args>` of the steps, as npx runs a package the checkout installed: the workspace's `node_modules/.bin/<bin>`
 * (the same dbee process, its arguments and environment). npm's own launcher cost about a second of CPU per call, some
 * thirty calls here, and is not what this test is about; a step that asks npx for anything else fails, naming it.
 */
const NPX_INSTALLED = `#!/bin/sh
bin="$PWD/node_modules/.bin/$1"
if [ ! -x "$bin" ]; then echo "the test's npx runs installed binaries only, not: npx $*" >&2; exit 127; fi
shift
exec "$bin" "$@"
`;

type Step = { name?: string; uses?: string; run?: string; with?: Record<string, string>; env?: Record<string, string> };
type Job = { environment: string; needs?: string; steps: Step[] };

/** The secrets and variables of GitHub's environments, as the repository's settings would hold them. */
interface Settings {
  secrets: Record<string, Record<string, string>>;
  vars: Record<string, Record<string, string>>;
}

describe('the generated GitHub workflow, run step by step on a push to main (qa, then prod with gates)', () => {
  let team: TeamWorkspace;
  let workflow: { jobs: Record<string, Job> };
  let artifacts: string;
  /** A folder whose `npx` runs the workspace's installed binary (see `bash`). */
  let launcher: string;
  const key = 'the-team-promotion-key-0123456789';

  beforeAll(async () => {
    const dbeeYaml = TEAM_DBEE_YAML.replace(
      '      url: ${DBEE_PROD_URL}\n',
      `      url: \${DBEE_PROD_URL}\n${PROD_GATES}`,
    );
    team = await TeamWorkspace.create({ files: { 'dbee.yaml': dbeeYaml } });
    // The generator reads dbee.yaml and the projects' db.yaml: the same files, in Nx's in-memory tree.
    const tree = createTreeWithEmptyWorkspace();
    for (const [path, text] of Object.entries({ ...TEAM_FILES, 'dbee.yaml': dbeeYaml })) tree.write(path, text);
    await ciGenerator(tree, { provider: 'github', environments: 'qa,prod' });
    const text = tree.read('.github/workflows/dbee.yml', 'utf-8')!;
    team.write({ '.github/workflows/dbee.yml': text });
    expect(validateWorkflow(text).errors).toEqual([]);
    workflow = parse(text) as typeof workflow;
    await team.commitAll('the pipeline');
    artifacts = mkdtempSync(join(tmpdir(), 'dbee-artifacts-'));
    launcher = mkdtempSync(join(tmpdir(), 'dbee-npx-'));
    writeFileSync(join(launcher, 'npx'), NPX_INSTALLED);
    chmodSync(join(launcher, 'npx'), 0o755);
  });

  afterAll(async () => {
    rmSync(artifacts, { recursive: true, force: true });
    if (launcher) rmSync(launcher, { recursive: true, force: true });
    await team?.dispose();
  });

  function settings(ticket?: string): Settings {
    return {
      secrets: {
        qa: { DBEE_QA_URL: team.databases.qa.url, DBEE_PROMOTION_KEY: key },
        prod: { DBEE_PROD_URL: team.databases.prod.url, DBEE_PROMOTION_KEY: key },
      },
      vars: { qa: {}, prod: ticket ? { DBEE_TICKET: ticket } : {} },
    };
  }

  /**
   * Runs a job's steps in order (those `only` keeps) on a fresh checkout (`fresh`: dist/ removed first); stops at the
   * first that fails, as the runner does.
   */
  async function runJob(
    name: string,
    s: Settings,
    only?: (step: Step) => boolean,
    fresh = true,
  ): Promise<{ ok: boolean; output: string }> {
    const job = workflow.jobs[name]!;
    if (fresh) rmSync(join(team.root, 'dist'), { recursive: true, force: true });
    let output = '';
    for (const step of job.steps.filter(only ?? (() => true))) {
      if (step.uses?.startsWith('actions/checkout') || step.uses?.startsWith('actions/setup-node')) continue;
      if (step.run === 'npm ci') continue; // node_modules is this repository's, linked
      if (step.uses?.startsWith('actions/upload-artifact')) {
        rmSync(join(artifacts, step.with!.name!), { recursive: true, force: true });
        cpSync(join(team.root, step.with!.path!), join(artifacts, step.with!.name!), { recursive: true });
        continue;
      }
      if (step.uses?.startsWith('actions/download-artifact')) {
        cpSync(join(artifacts, step.with!.name!), join(team.root, step.with!.path!), { recursive: true });
        continue;
      }
      if (!step.run) throw new Error(`the runner of this test does not know step ${JSON.stringify(step)}`);
      const env = Object.fromEntries(
        Object.entries(step.env ?? {}).map(([k, v]) => [k, expression(String(v), job.environment, s)]),
      );
      const r = await bash(step.run, env);
      output += `$ ${step.name ?? step.run}\n${r.output}`;
      if (r.code !== 0) return { ok: false, output };
    }
    return { ok: true, output };
  }

  /** `${{ secrets.X }}` and `${{ vars.X }}` of the job's GitHub environment (GitHub gives '' for one not set). */
  function expression(value: string, environment: string, s: Settings): string {
    return value.replace(/\$\{\{\s*(secrets|vars)\.(\w+)\s*\}\}/g, (_, kind: 'secrets' | 'vars', name: string) => {
      return s[kind][environment]?.[name] ?? '';
    });
  }

  async function bash(script: string, env: Record<string, string>): Promise<{ code: number; output: string }> {
    await releasePglite();
    const clean = childEnvironment();
    return new Promise((resolve) => {
      execFile(
        'bash',
        ['-e', '-c', script],
        {
          cwd: team.root,
          env: {
            ...clean,
            PATH: `${launcher}:${clean.PATH ?? ''}`,
            DBEE_USE_DIST: '1',
            FORCE_COLOR: '0',
            CI: 'true',
            ...env,
          },
        },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
      );
    });
  }

  const columns = async (env: 'qa' | 'prod') =>
    (
      await team.query<{ column_name: string }>(
        env,
        `SELECT column_name FROM information_schema.columns WHERE table_schema = 'core' AND table_name = 'customers' ORDER BY 1`,
      )
    ).map((r) => r.column_name);

  it('the first release: prod refuses the package before qa and without the ticket, then takes the same folder', async () => {
    expect(Object.keys(workflow.jobs)).toEqual(['review', 'release-qa', 'release-prod']);
    const isDeploy = (step: Step) => Boolean(step.name?.startsWith('Deploy'));
    const built = await runJob('release-qa', settings(), (step) => !isDeploy(step));
    expect(built.ok, built.output).toBe(true);

    const beforeQa = await runJob('release-prod', settings('CHG-1001'));
    expect(beforeQa.ok).toBe(false);
    expect(beforeQa.output).toMatch(/never deployed to qa|no promotion record from qa/);
    expect(await team.deployedProjects('prod')).toEqual([]);

    // The rest of the qa job, on the package it built: deploy, then keep the folder with qa's promotion record.
    const qa = await runJob('release-qa', settings(), (step) => isDeploy(step) || Boolean(step.uses), false);
    expect(qa.ok, qa.output).toBe(true);
    expect(await team.deployedProjects('qa')).toEqual(['core', 'reporting', 'sales']);
    expect(existsSync(join(artifacts, 'dbee-release', 'reporting', 'promotion', 'qa.json'))).toBe(true);

    const noTicket = await runJob('release-prod', settings());
    expect(noTicket.ok).toBe(false);
    expect(noTicket.output).toMatch(/ticket/i);
    expect(await team.deployedProjects('prod')).toEqual([]);

    const prod = await runJob('release-prod', settings('CHG-1001'));
    expect(prod.ok, prod.output).toBe(true);
    expect(await team.deployedProjects('prod')).toEqual(['core', 'reporting', 'sales']);
    const tickets = await team.query<{ ticket: string }>('prod', 'SELECT DISTINCT ticket FROM dbee.deployments');
    expect(tickets.map((t) => t.ticket)).toEqual(['CHG-1001']);
  });

  it('the next release: an incremental package from the commit qa is at, deployed to qa, then promoted to prod', async () => {
    team.write({
      'databases/core/schema/core/tables/customers.sql': `CREATE TABLE core.customers (
  id integer PRIMARY KEY,
  name text NOT NULL,
  email text,
  region text NOT NULL DEFAULT 'eu',
  phone text
);
`,
    });
    await team.commitAll('customers get a phone');
    const qa = await runJob('release-qa', settings());
    expect(qa.ok, qa.output).toBe(true);
    const release = JSON.parse(readFileSync(join(artifacts, 'dbee-release', 'reporting', 'release.json'), 'utf8'));
    expect(release.base?.commit).toBe((await team.git(['rev-parse', 'HEAD~1'])).trim());
    expect(await columns('qa')).toContain('phone');
    expect(await columns('prod')).not.toContain('phone');

    const prod = await runJob('release-prod', settings('CHG-1002'));
    expect(prod.ok, prod.output).toBe(true);
    expect(await columns('prod')).toContain('phone');
  });
});
