import { afterEach, describe, expect, it } from 'vitest';
import type { CreateNodesResult } from '@nx/devkit';
import { createNodes, createNodesV2 } from '../index';
import type { DbeePluginOptions } from './options';
import { CORE_DB_YAML, FINGERPRINT_SCRIPT, SALES_DB_YAML, TestWorkspace } from '../testing/workspace';

let workspace: TestWorkspace | undefined;
afterEach(() => workspace?.remove());

async function inferProjects(files: Record<string, string>, options?: DbeePluginOptions): Promise<Record<string, CreateNodesResult>> {
  workspace = new TestWorkspace(files);
  const configFiles = Object.keys(files).filter((f) => f.endsWith('db.yaml'));
  const results = await createNodes[1](configFiles, options, workspace.context());
  // The fingerprint script sits outside the temporary workspace, so its path is absolute; show it stably.
  return JSON.parse(JSON.stringify(Object.fromEntries(results)).replaceAll(FINGERPRINT_SCRIPT, '<dbee>/plugins/nx/bin/fingerprint.js'));
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

describe('createNodes', () => {
  it('infers a project with seven dbee targets from each db.yaml', async () => {
    const projects = await inferProjects({ 'db/core/db.yaml': CORE_DB_YAML, 'db/sales/db.yaml': SALES_DB_YAML });

    expect(Object.keys(projects)).toEqual(['db/core/db.yaml', 'db/sales/db.yaml']);
    expect(projects['db/sales/db.yaml']).toMatchInlineSnapshot(`
      {
        "projects": {
          "db/sales": {
            "metadata": {
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
                ],
              },
              "technologies": [
                "dbee",
                "postgres",
              ],
            },
            "name": "db-sales",
            "namedInputs": {
              "dbeeSources": [
                "{projectRoot}/db.yaml",
                "{projectRoot}/**/*.sql",
                "{projectRoot}/smoke/**/*.yaml",
                "{projectRoot}/smoke/**/*.yml",
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
                  "dbeeSources",
                  "^default",
                  "{workspaceRoot}/dbee.yaml",
                  "{workspaceRoot}/packages/*/src/**/*.ts",
                  "{workspaceRoot}/plugins/nx/src/**/*.ts",
                  {
                    "env": "DBEE_ENV",
                  },
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
                  "dbeeSources",
                  "^default",
                  "{workspaceRoot}/dbee.yaml",
                  "{workspaceRoot}/packages/*/src/**/*.ts",
                  "{workspaceRoot}/plugins/nx/src/**/*.ts",
                  {
                    "env": "DBEE_ENV",
                  },
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
                "dependsOn": [
                  "build",
                ],
                "executor": "@dbee/nx:diff",
                "inputs": [
                  "dbeeSources",
                  "^default",
                  "{workspaceRoot}/dbee.yaml",
                  "{workspaceRoot}/packages/*/src/**/*.ts",
                  "{workspaceRoot}/plugins/nx/src/**/*.ts",
                  {
                    "env": "DBEE_ENV",
                  },
                  {
                    "runtime": "node <dbee>/plugins/nx/bin/fingerprint.js db/sales",
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
              "plan": {
                "cache": false,
                "executor": "@dbee/nx:plan",
                "inputs": [
                  "dbeeSources",
                  "^default",
                  "{workspaceRoot}/dbee.yaml",
                  "{workspaceRoot}/packages/*/src/**/*.ts",
                  "{workspaceRoot}/plugins/nx/src/**/*.ts",
                  {
                    "env": "DBEE_ENV",
                  },
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
                  "{projectRoot}/db.yaml",
                  "{workspaceRoot}/dbee.yaml",
                  {
                    "env": "DBEE_ENV",
                  },
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
                  "{projectRoot}/db.yaml",
                  "{projectRoot}/smoke/**/*.yaml",
                  "{projectRoot}/smoke/**/*.yml",
                  "{workspaceRoot}/dbee.yaml",
                  {
                    "env": "DBEE_ENV",
                  },
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
                  "{projectRoot}/db.yaml",
                  "{workspaceRoot}/dbee.yaml",
                  {
                    "env": "DBEE_ENV",
                  },
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
      },
    );
    const project = projects['db/sales/db.yaml']!.projects!['db/sales']!;

    expect(project.name).toBe('database-sales');
    expect(Object.keys(project.targets!)).toEqual(['db-build', 'db-diff', 'db-plan', 'db-deploy', 'db-smoke', 'db-rollback', 'db-status']);
    expect(project.metadata?.targetGroups).toEqual({ dbee: Object.keys(project.targets!) });
    expect(project.targets!['db-build']!.dependsOn).toEqual(['^db-build']);
    expect(project.targets!['db-diff']!.dependsOn).toEqual(['db-build']);
    expect(project.targets!['db-deploy']!.dependsOn).toEqual([{ target: 'db-deploy', dependencies: true, params: 'forward' }]);
    // The executors keep the command names, and the commands get the dbee name, not the Nx name.
    expect(project.targets!['db-smoke']!.executor).toBe('@dbee/nx:smoke-test');
    expect(project.targets!['db-smoke']!.options).toEqual({ project: 'sales' });
  });

  it('bakes the literal project root into the runtime input, quoted when needed', async () => {
    const projects = await inferProjects({ "data bases/o'brien/db.yaml": CORE_DB_YAML });
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
      'dbee.yaml': 'version: 1\ndefaultEnvironment: local\nenvironments: { local: { engine: postgres, connection: { embedded: .dbee/local } } }\nignore: ["fixtures/**"]\n',
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

    expect(errors).toEqual([['db/sales/db.yaml', 'db/sales/db.yaml:3:1: engine: expected one of "postgres", "teradata", got "postgress"']]);
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
      ['db/core2/db.yaml', 'db/core2/db.yaml:2:1: name: project name "core" is already used by db/core/db.yaml\n  hint: give each db.yaml a unique name'],
    ]);
  });

  it('keeps createNodesV2 as an alias for older tooling', () => {
    expect(createNodesV2).toBe(createNodes);
    expect(createNodes[0]).toBe('**/db.yaml');
  });
});
