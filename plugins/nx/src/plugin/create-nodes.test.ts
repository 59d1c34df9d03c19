import { mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CreateNodesResult } from '@nx/devkit';
import { createNodes, createNodesV2 } from '../index';
import type { DbeePluginOptions } from './options';
import { CORE_DB_YAML, DBEE_YAML, FINGERPRINT_SCRIPT, SALES_DB_YAML, TestWorkspace } from '../testing/workspace';

let workspace: TestWorkspace | undefined;
afterEach(() => workspace?.remove());

async function inferProjects(
  files: Record<string, string>,
  options?: DbeePluginOptions,
): Promise<Record<string, CreateNodesResult>> {
  workspace = new TestWorkspace(files);
  const configFiles = Object.keys(files).filter((f) => f.endsWith('db.yaml'));
  const results = await createNodes[1](configFiles, options, workspace.context());
  // The fingerprint script sits outside the temporary workspace, so its path is absolute; show it stably.
  return JSON.parse(
    JSON.stringify(Object.fromEntries(results)).replaceAll(FINGERPRINT_SCRIPT, '<dbee>/plugins/nx/bin/fingerprint.js'),
  );
}

/** The error createNodes throws, as Nx receives it: one [file, error] per problem. */
async function inferErrors(files: Record<string, string>): Promise<Array<[string, string]>> {
  try {
    await inferProjects(files);
  } catch (e) {
    return (e as { errors: Array<[string, Error]> }).errors.map(([file, error]) => [file, error.message]);
  }
  throw new Error('expected createNodes to fail');
}

/** node_modules and lock file of a workspace where dbee is installed from the registry (no Teradata). */
const INSTALLED: Record<string, string> = {
  'package-lock.json': JSON.stringify({
    packages: Object.fromEntries(
      ['nx', 'cli', 'core', 'postgres'].map((p) => [`node_modules/@dbee/${p}`, { version: '0.1.0' }]),
    ),
  }),
  ...Object.fromEntries(
    ['nx', 'cli', 'core', 'postgres'].map((p) => [
      `node_modules/@dbee/${p}/package.json`,
      `{ "name": "@dbee/${p}", "version": "0.1.0" }`,
    ]),
  ),
  'node_modules/@dbee/nx/bin/fingerprint.js': '',
};

describe('createNodes', () => {
  it('infers a project with seven dbee targets from each db.yaml', async () => {
    const projects = await inferProjects({
      ...INSTALLED,
      'db/core/db.yaml': CORE_DB_YAML,
      'db/sales/db.yaml': `${SALES_DB_YAML}environments:\n  test:\n    variables: { owner: '\${SALES_OWNER}', literal: '$\${NOT_A_VARIABLE}' }\n`,
    });

    expect(Object.keys(projects)).toEqual(['db/core/db.yaml', 'db/sales/db.yaml']);
    expect(projects['db/sales/db.yaml']).toMatchInlineSnapshot(`
      {
        "projects": {
          "db/sales": {
            "metadata": {
              "dbee": {
                "dependsOn": [
                  "core",
                ],
                "name": "sales",
              },
              "description": "dbee postgres database project "sales"",
              "targetGroups": {
                "dbee": [
                  "build",
                  "diff",
                  "plan",
                  "deploy",
                  "smoke-test",
                  "rollback",
                  "status",
                  "graph",
                  "docs",
                  "check",
                ],
              },
              "technologies": [
                "dbee",
                "postgres",
              ],
            },
            "name": "db-sales",
            "namedInputs": {
              "dbeeChanges": [
                "dbeeSources",
                "{workspaceRoot}/dbee.yaml",
                {
                  "env": "DBEE_ENV",
                },
                {
                  "env": "DBEE_TEST_URL",
                },
                {
                  "env": "SALES_OWNER",
                },
              ],
              "dbeeModel": [
                "dbeeSources",
                "{workspaceRoot}/dbee.yaml",
                {
                  "externalDependencies": [
                    "@dbee/nx",
                    "@dbee/cli",
                    "@dbee/core",
                    "@dbee/postgres",
                  ],
                },
                {
                  "env": "DBEE_ENV",
                },
                {
                  "env": "DBEE_TEST_URL",
                },
                {
                  "env": "SALES_OWNER",
                },
              ],
              "dbeeSources": [
                "{projectRoot}/{db.yaml,**/*.sql,**/*.expand.yaml,migrations/baseline.yaml,smoke/**/*.yaml,smoke/**/*.yml}",
              ],
            },
            "projectType": "library",
            "root": "db/sales",
            "tags": [
              "dbee",
              "engine:postgres",
            ],
            "targets": {
              "build": {
                "cache": true,
                "dependsOn": [
                  "^build",
                ],
                "executor": "@dbee/nx:build",
                "inputs": [
                  "dbeeModel",
                  "^{projectRoot}/{db.yaml,**/*.sql,**/*.expand.yaml,migrations/baseline.yaml,smoke/**/*.yaml,smoke/**/*.yml}",
                ],
                "metadata": {
                  "description": "Builds the desired model of this database project from its sources in a shadow database.",
                  "help": {
                    "command": "npx dbee build --help",
                    "example": {
                      "options": {
                        "env": "local",
                      },
                    },
                  },
                  "technologies": [
                    "dbee",
                  ],
                },
                "options": {
                  "outputPath": "{workspaceRoot}/dist/dbee/{projectName}/build",
                  "project": "sales",
                },
                "outputs": [
                  "{workspaceRoot}/dist/dbee/{projectName}/build",
                ],
              },
              "check": {
                "cache": false,
                "executor": "@dbee/nx:check",
                "inputs": [
                  "dbeeChanges",
                  "^{projectRoot}/{db.yaml,**/*.sql,**/*.expand.yaml,migrations/baseline.yaml,smoke/**/*.yaml,smoke/**/*.yml}",
                ],
                "metadata": {
                  "description": "Checks the application's queries and the dbt models (check.dbt.manifest) against what a deployment would change, on a scratch copy.",
                  "help": {
                    "command": "npx dbee check --help",
                    "example": {
                      "options": {
                        "env": "test",
                        "format": "markdown",
                      },
                    },
                  },
                  "technologies": [
                    "dbee",
                  ],
                },
                "options": {
                  "project": "sales",
                },
                "outputs": [],
                "parallelism": false,
              },
              "deploy": {
                "cache": false,
                "dependsOn": [
                  {
                    "dependencies": true,
                    "params": "forward",
                    "target": "deploy",
                  },
                ],
                "executor": "@dbee/nx:deploy",
                "inputs": [
                  "dbeeChanges",
                  "^{projectRoot}/{db.yaml,**/*.sql,**/*.expand.yaml,migrations/baseline.yaml,smoke/**/*.yaml,smoke/**/*.yml}",
                ],
                "metadata": {
                  "description": "Deploys this database project to an environment, after the projects it depends on.",
                  "help": {
                    "command": "npx dbee deploy --help",
                    "example": {
                      "options": {
                        "env": "test",
                      },
                    },
                  },
                  "technologies": [
                    "dbee",
                  ],
                },
                "options": {
                  "project": "sales",
                },
                "outputs": [],
              },
              "diff": {
                "cache": true,
                "configurations": {
                  "markdown": {
                    "format": "markdown",
                    "output": "{workspaceRoot}/dist/dbee/{projectName}/diff/diff.md",
                  },
                },
                "dependsOn": [
                  "build",
                ],
                "executor": "@dbee/nx:diff",
                "inputs": [
                  "dbeeModel",
                  "^{projectRoot}/{db.yaml,**/*.sql,**/*.expand.yaml,migrations/baseline.yaml,smoke/**/*.yaml,smoke/**/*.yml}",
                  {
                    "runtime": "node node_modules/@dbee/nx/bin/fingerprint.js --environment",
                  },
                ],
                "metadata": {
                  "description": "Shows what would change in the live database to match the sources, with the hazards of each change.",
                  "help": {
                    "command": "npx dbee diff --help",
                    "example": {
                      "options": {
                        "failOnDiff": true,
                        "format": "markdown",
                      },
                    },
                  },
                  "technologies": [
                    "dbee",
                  ],
                },
                "options": {
                  "project": "sales",
                },
                "outputs": [
                  "{workspaceRoot}/dist/dbee/{projectName}/diff",
                ],
              },
              "docs": {
                "cache": true,
                "executor": "@dbee/nx:docs",
                "inputs": [
                  "dbeeModel",
                  "^{projectRoot}/{db.yaml,**/*.sql,**/*.expand.yaml,migrations/baseline.yaml,smoke/**/*.yaml,smoke/**/*.yml}",
                ],
                "metadata": {
                  "description": "Writes a site documenting this project's schemas and objects, with ER diagrams and search (and, with --env, a release board).",
                  "help": {
                    "command": "npx dbee docs --help",
                    "example": {
                      "options": {
                        "format": "markdown",
                      },
                    },
                  },
                  "technologies": [
                    "dbee",
                  ],
                },
                "options": {
                  "out": "{workspaceRoot}/dist/dbee/{projectName}/docs",
                  "project": "sales",
                },
                "outputs": [
                  "{workspaceRoot}/dist/dbee/{projectName}/docs",
                ],
              },
              "graph": {
                "cache": true,
                "executor": "@dbee/nx:graph",
                "inputs": [
                  "dbeeModel",
                  "^{projectRoot}/{db.yaml,**/*.sql,**/*.expand.yaml,migrations/baseline.yaml,smoke/**/*.yaml,smoke/**/*.yml}",
                ],
                "metadata": {
                  "description": "Writes a page drawing this project's objects and their dependencies (and, with --env, what a deployment would change).",
                  "help": {
                    "command": "npx dbee graph --help",
                    "example": {
                      "options": {
                        "withDeps": true,
                      },
                    },
                  },
                  "technologies": [
                    "dbee",
                  ],
                },
                "options": {
                  "out": "{workspaceRoot}/dist/dbee/{projectName}/graph.html",
                  "project": "sales",
                },
                "outputs": [
                  "{workspaceRoot}/dist/dbee/{projectName}/graph.html",
                ],
              },
              "plan": {
                "cache": false,
                "executor": "@dbee/nx:plan",
                "inputs": [
                  "dbeeModel",
                  "^{projectRoot}/{db.yaml,**/*.sql,**/*.expand.yaml,migrations/baseline.yaml,smoke/**/*.yaml,smoke/**/*.yml}",
                ],
                "metadata": {
                  "description": "Writes a deployable package (plan, step and rollback scripts, checksums) for an environment.",
                  "help": {
                    "command": "npx dbee plan --help",
                    "example": {
                      "options": {
                        "env": "prod",
                        "out": "dist/packages/sales",
                      },
                    },
                  },
                  "technologies": [
                    "dbee",
                  ],
                },
                "options": {
                  "out": "{workspaceRoot}/dist/dbee/{projectName}/package",
                  "project": "sales",
                },
                "outputs": [
                  "{workspaceRoot}/dist/dbee/{projectName}/package",
                ],
              },
              "rollback": {
                "cache": false,
                "executor": "@dbee/nx:rollback",
                "inputs": [
                  "dbeeChanges",
                  "^{projectRoot}/{db.yaml,**/*.sql,**/*.expand.yaml,migrations/baseline.yaml,smoke/**/*.yaml,smoke/**/*.yml}",
                ],
                "metadata": {
                  "description": "Undoes the last deployment of this project on an environment, using the rollback steps in its ledger.",
                  "help": {
                    "command": "npx dbee rollback --help",
                    "example": {
                      "options": {
                        "dryRun": true,
                        "env": "test",
                      },
                    },
                  },
                  "technologies": [
                    "dbee",
                  ],
                },
                "options": {
                  "project": "sales",
                },
                "outputs": [],
                "parallelism": false,
              },
              "smoke-test": {
                "cache": false,
                "executor": "@dbee/nx:smoke-test",
                "inputs": [
                  "dbeeChanges",
                  "^{projectRoot}/{db.yaml,**/*.sql,**/*.expand.yaml,migrations/baseline.yaml,smoke/**/*.yaml,smoke/**/*.yml}",
                ],
                "metadata": {
                  "description": "Runs this project's smoke checks against the objects deployed on an environment.",
                  "help": {
                    "command": "npx dbee smoke-test --help",
                    "example": {
                      "options": {
                        "env": "test",
                      },
                    },
                  },
                  "technologies": [
                    "dbee",
                  ],
                },
                "options": {
                  "project": "sales",
                },
                "outputs": [],
                "parallelism": false,
              },
              "status": {
                "cache": false,
                "executor": "@dbee/nx:status",
                "inputs": [
                  "dbeeChanges",
                  "^{projectRoot}/{db.yaml,**/*.sql,**/*.expand.yaml,migrations/baseline.yaml,smoke/**/*.yaml,smoke/**/*.yml}",
                ],
                "metadata": {
                  "description": "Shows this project's deployment history and state on an environment, from the ledger.",
                  "help": {
                    "command": "npx dbee status --help",
                    "example": {
                      "options": {
                        "env": "test",
                        "format": "json",
                      },
                    },
                  },
                  "technologies": [
                    "dbee",
                  ],
                },
                "options": {
                  "project": "sales",
                },
                "outputs": [],
                "parallelism": false,
              },
            },
          },
        },
      }
    `);
  });

  /** The inputs of the build target of db/core in a workspace made of `files`, with nx.json `nxJson`. */
  async function buildInputs(
    files: Record<string, string>,
    nxJson: Record<string, unknown> = {},
    link?: [string, string],
  ): Promise<unknown> {
    workspace = new TestWorkspace({ 'db/core/db.yaml': CORE_DB_YAML, ...files });
    if (link) {
      mkdirSync(dirname(join(workspace.root, link[0])), { recursive: true });
      symlinkSync(join(workspace.root, link[1]), join(workspace.root, link[0]), 'dir');
    }
    const results = await createNodes[1](['db/core/db.yaml'], undefined, {
      ...workspace.context(),
      nxJsonConfiguration: nxJson,
    });
    const project = results[0]![1].projects!['db/core']!;
    // The target names the project-level named input `dbeeModel`: its entries in its place, as Nx expands it.
    const { dbeeModel, ...namedInputs } = project.namedInputs ?? {};
    const inputs = project.targets!['build']!.inputs!.flatMap((i) => (i === 'dbeeModel' ? (dbeeModel ?? [i]) : [i]));
    return JSON.parse(
      JSON.stringify({
        ...(Object.keys(namedInputs).length > 0 ? { namedInputs } : {}),
        inputs,
      }).replaceAll(FINGERPRINT_SCRIPT, '<dbee>/plugins/nx/bin/fingerprint.js'),
    );
  }

  it('leaves out dbee packages that are not installed, and lists them as files where they are projects of the workspace', async () => {
    const inputs = await buildInputs(
      {
        'package-lock.json':
          '{ "packages": { "node_modules/@dbee/core": { "link": true }, "node_modules/@dbee/cli": {} } }',
        'node_modules/@dbee/cli/package.json': '{ "name": "@dbee/cli", "version": "1.0.0" }',
        'packages/core/package.json': '{ "name": "@dbee/core" }',
      },
      {},
      ['node_modules/@dbee/core', 'packages/core'],
    );

    expect((inputs as { inputs: unknown[] }).inputs).toEqual([
      'dbeeSources',
      '{workspaceRoot}/dbee.yaml',
      { externalDependencies: ['@dbee/cli'] },
      '{workspaceRoot}/packages/core/package.json',
      '{workspaceRoot}/packages/core/src/**/*',
      '{workspaceRoot}/packages/core/bin/**/*',
      { env: 'DBEE_ENV' },
      { env: 'DBEE_TEST_URL' },
      '^{projectRoot}/{db.yaml,**/*.sql,**/*.expand.yaml,migrations/baseline.yaml,smoke/**/*.yaml,smoke/**/*.yml}',
    ]);
  });

  it('stands for dbee with a runtime input printing its versions when no lock file names the packages', async () => {
    const inputs = await buildInputs({
      'node_modules/@dbee/cli/package.json': '{ "name": "@dbee/cli", "version": "1.0.0" }',
    });

    expect((inputs as { inputs: unknown[] }).inputs).toContainEqual({
      runtime: 'node <dbee>/plugins/nx/bin/fingerprint.js --versions',
    });
    expect(JSON.stringify(inputs)).not.toContain('externalDependencies');
  });

  it("counts a package linked from pnpm's store (a folder under node_modules) as installed", async () => {
    const inputs = await buildInputs(
      {
        'pnpm-lock.yaml': "importers:\n  .:\n    devDependencies:\n      '@dbee/core':\n        version: 0.1.0\n",
        'node_modules/.pnpm/@dbee+core@0.1.0/node_modules/@dbee/core/package.json':
          '{ "name": "@dbee/core", "version": "0.1.0" }',
      },
      {},
      ['node_modules/@dbee/core', 'node_modules/.pnpm/@dbee+core@0.1.0/node_modules/@dbee/core'],
    );

    expect((inputs as { inputs: unknown[] }).inputs).toContainEqual({ externalDependencies: ['@dbee/core'] });
  });

  it('uses the runtime input instead of externalDependencies when Nx does not analyze the lock file', async () => {
    const inputs = await buildInputs({ ...INSTALLED }, { pluginsConfig: { '@nx/js': { analyzeLockfile: false } } });

    expect(JSON.stringify(inputs)).not.toContain('externalDependencies');
    expect((inputs as { inputs: unknown[] }).inputs).toContainEqual({
      runtime: 'node node_modules/@dbee/nx/bin/fingerprint.js --versions',
    });
  });

  it("honours the workspace's named inputs: its dbeeSources for the project and its dependencies, and sharedGlobals", async () => {
    const inputs = await buildInputs(
      { ...INSTALLED },
      { namedInputs: { dbeeSources: ['{projectRoot}/**/*'], sharedGlobals: ['{workspaceRoot}/.nvmrc'] } },
    );

    // No project-level dbeeSources: the workspace's definition stands.
    expect(inputs).toEqual({
      namedInputs: {
        dbeeChanges: ['dbeeSources', '{workspaceRoot}/dbee.yaml', { env: 'DBEE_ENV' }, { env: 'DBEE_TEST_URL' }],
      },
      inputs: [
        'dbeeSources',
        '{workspaceRoot}/dbee.yaml',
        'sharedGlobals',
        { externalDependencies: ['@dbee/nx', '@dbee/cli', '@dbee/core', '@dbee/postgres'] },
        { env: 'DBEE_ENV' },
        { env: 'DBEE_TEST_URL' },
        '^dbeeSources',
      ],
    });
  });

  it("adds a db.yaml's own `sources` globs to its dbeeSources and, with `^`, to every project's dependency inputs", async () => {
    const projects = await inferProjects({
      'db/core/db.yaml':
        "version: 1\nname: core\nengine: postgres\nschemas: [core]\nsources: ['**/*.sql', 'legacy/*.pgsql', '!legacy/old.pgsql']\n",
      'db/sales/db.yaml': SALES_DB_YAML,
    });
    const core = projects['db/core/db.yaml']!.projects!['db/core']!;
    const sales = projects['db/sales/db.yaml']!.projects!['db/sales']!;

    expect(core.namedInputs?.dbeeSources).toContain('{projectRoot}/legacy/*.pgsql');
    expect(core.namedInputs?.dbeeSources).not.toContain('{projectRoot}/!legacy/old.pgsql');
    expect(sales.namedInputs?.dbeeSources).not.toContain('{projectRoot}/legacy/*.pgsql');
    expect(sales.targets!.deploy!.inputs).toContain('^{projectRoot}/legacy/*.pgsql');
    expect(sales.targets!.deploy!.inputs).toContain(
      '^{projectRoot}/{db.yaml,**/*.sql,**/*.expand.yaml,migrations/baseline.yaml,smoke/**/*.yaml,smoke/**/*.yml}',
    );
  });

  it('uses the configured prefix and target names everywhere, dependsOn included', async () => {
    const projects = await inferProjects(
      { 'db/sales/db.yaml': SALES_DB_YAML },
      {
        projectPrefix: 'database-',
        buildTargetName: 'db-build',
        diffTargetName: 'db-diff',
        deployTargetName: 'db-deploy',
        smokeTestTargetName: 'db-smoke',
        rollbackTargetName: 'db-rollback',
        planTargetName: 'db-plan',
        statusTargetName: 'db-status',
        graphTargetName: 'db-graph',
        docsTargetName: 'db-docs',
        checkTargetName: 'db-check',
      },
    );
    const project = projects['db/sales/db.yaml']!.projects!['db/sales']!;

    expect(project.name).toBe('database-sales');
    expect(Object.keys(project.targets!)).toEqual([
      'db-build',
      'db-diff',
      'db-plan',
      'db-deploy',
      'db-smoke',
      'db-rollback',
      'db-status',
      'db-graph',
      'db-docs',
      'db-check',
    ]);
    expect(project.metadata?.targetGroups).toEqual({ dbee: Object.keys(project.targets!) });
    expect(project.targets!['db-build']!.dependsOn).toEqual(['^db-build']);
    expect(project.targets!['db-diff']!.dependsOn).toEqual(['db-build']);
    expect(project.targets!['db-deploy']!.dependsOn).toEqual([
      { target: 'db-deploy', dependencies: true, params: 'forward' },
    ]);
    // The executors keep the command names, and the commands get the dbee name, not the Nx name.
    expect(project.targets!['db-smoke']!.executor).toBe('@dbee/nx:smoke-test');
    expect(project.targets!['db-smoke']!.options).toEqual({ project: 'sales' });
  });

  it("lists the dbt manifest among the check target's inputs: db.yaml's check.dbt.manifest (from the project), else dbee.yaml's", async () => {
    const projects = await inferProjects({
      'dbee.yaml': `${DBEE_YAML}check:\n  dbt: { manifest: analytics/target/manifest.json }\n`,
      'db/core/db.yaml': CORE_DB_YAML,
      'db/sales/db.yaml': `${SALES_DB_YAML}check:\n  dbt: { manifest: ../../dbt/target/manifest.json }\n`,
    });
    const inputs = (file: string, root: string) => projects[file]!.projects![root]!.targets!.check!.inputs;
    expect(inputs('db/core/db.yaml', 'db/core')).toContain('{workspaceRoot}/analytics/target/manifest.json');
    expect(inputs('db/sales/db.yaml', 'db/sales')).toContain('{workspaceRoot}/dbt/target/manifest.json');
    expect(inputs('db/sales/db.yaml', 'db/sales')).not.toContain('{workspaceRoot}/analytics/target/manifest.json');
    expect(projects['db/sales/db.yaml']!.projects!['db/sales']!.targets!.check!.cache).toBe(false);
  });

  it('fingerprints the whole environment with one command shared by every project, by default', async () => {
    const projects = await inferProjects({
      ...INSTALLED,
      'db/core/db.yaml': CORE_DB_YAML,
      'db/sales/db.yaml': SALES_DB_YAML,
    });
    const runtime = (file: string, root: string) => projects[file]!.projects![root]!.targets!.diff!.inputs!.at(-1);

    expect(runtime('db/core/db.yaml', 'db/core')).toEqual({
      runtime: 'node node_modules/@dbee/nx/bin/fingerprint.js --environment',
    });
    expect(runtime('db/sales/db.yaml', 'db/sales')).toEqual(runtime('db/core/db.yaml', 'db/core'));
  });

  it('with fingerprintScope "project", bakes the literal project root into the runtime input, quoted when needed', async () => {
    const projects = await inferProjects(
      { "data bases/o'brien/db.yaml": CORE_DB_YAML },
      { fingerprintScope: 'project' },
    );
    const inputs = projects["data bases/o'brien/db.yaml"]!.projects!["data bases/o'brien"]!.targets!.diff!.inputs!;

    expect(inputs.at(-1)).toEqual({ runtime: `node <dbee>/plugins/nx/bin/fingerprint.js 'data bases/o'\\''brien'` });
  });

  it('tags the engine, so Teradata projects can be selected with --projects=tag:engine:teradata', async () => {
    const projects = await inferProjects({ 'dw/db.yaml': 'version: 1\nname: dw\nengine: teradata\nschemas: [dw]\n' });
    const project = projects['dw/db.yaml']!.projects!.dw!;

    expect(project.tags).toEqual(['dbee', 'engine:teradata']);
    expect(project.metadata?.technologies).toEqual(['dbee', 'teradata']);
  });

  it('skips db.yaml under node_modules, .nx, .dbee and dist, and under dbee.yaml ignore globs', async () => {
    const projects = await inferProjects({
      'dbee.yaml':
        'version: 1\ndefaultEnvironment: local\nenvironments: { local: { engine: postgres, connection: { embedded: .dbee/local } } }\nignore: ["fixtures/**"]\n',
      'db/core/db.yaml': CORE_DB_YAML,
      'node_modules/pkg/db.yaml': 'not: [valid',
      'dist/dbee/db-core/db.yaml': 'not: [valid',
      '.dbee/db.yaml': 'not: [valid',
      'fixtures/broken/db.yaml': 'not: [valid',
    });

    expect(Object.keys(projects)).toEqual(['db/core/db.yaml']);
  });

  it('infers a project at the workspace root with root "."', async () => {
    const projects = await inferProjects({ 'db.yaml': CORE_DB_YAML });

    expect(Object.keys(projects['db.yaml']!.projects!)).toEqual(['.']);
  });

  it('fails on a db.yaml that does not validate, naming the file, line, column and key', async () => {
    const errors = await inferErrors({
      'db/core/db.yaml': CORE_DB_YAML,
      'db/sales/db.yaml': 'version: 1\nname: sales\nengine: postgress\nschemas: [sales]\n',
    });

    expect(errors).toEqual([
      ['db/sales/db.yaml', 'db/sales/db.yaml:3:1: engine: expected one of "postgres", "teradata", got "postgress"'],
    ]);
  });

  it('reports every problem of a db.yaml at once, and broken YAML syntax with its line', async () => {
    const errors = await inferErrors({
      'a/db.yaml': 'version: 1\nname: a\nengine: postgres\nschemas: []\nowner: me\n',
      'b/db.yaml': 'version: 1\nname: b\n  engine: [postgres\n',
    });

    expect(errors).toEqual([
      [
        'a/db.yaml',
        [
          'a/db.yaml has 2 problems',
          '- a/db.yaml:4:1: schemas: a project owns at least one schema',
          '- a/db.yaml:5:1: (document): unknown key "owner" (check the spelling; see the configuration reference in README.md)',
        ].join('\n'),
      ],
      ['b/db.yaml', expect.stringMatching(/^b\/db\.yaml is not valid YAML\n- b\/db\.yaml:2:7: malformed YAML: /)],
    ]);
  });

  it('fails when two db.yaml declare the same name, pointing at the second one', async () => {
    const errors = await inferErrors({ 'db/core/db.yaml': CORE_DB_YAML, 'db/core2/db.yaml': CORE_DB_YAML });

    expect(errors).toEqual([
      [
        'db/core2/db.yaml',
        'db/core2/db.yaml:2:1: name: project name "core" is already used by db/core/db.yaml\n  hint: give each db.yaml a unique name',
      ],
    ]);
  });

  it('keeps createNodesV2 as an alias for older tooling', () => {
    expect(createNodesV2).toBe(createNodes);
    expect(createNodes[0]).toBe('**/db.yaml');
  });
});
