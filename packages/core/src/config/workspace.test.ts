import { afterEach, describe, expect, it } from 'vitest';
import { DbeeError } from '../errors';
import { Workspace } from './workspace';
import { tempWorkspace, WORKSPACE_YAML } from '../../../../test/support/workspace';

let cleanup: (() => void)[] = [];
afterEach(() => {
  cleanup.forEach((f) => f());
  cleanup = [];
});

function ws(files: Record<string, string>) {
  const w = tempWorkspace(files);
  cleanup.push(w.remove);
  return w;
}

function errorOf(f: () => unknown): DbeeError {
  try {
    f();
  } catch (e) {
    if (e instanceof DbeeError) return e;
    throw e;
  }
  throw new Error('expected a DbeeError');
}

const coreYaml = 'version: 1\nname: core\nengine: postgres\nschemas: [core]\n';

describe('workspace configuration', () => {
  it('loads dbee.yaml and every db.yaml, dependencies first', () => {
    const w = ws({
      'dbee.yaml': WORKSPACE_YAML,
      'db/core/db.yaml': coreYaml,
      'db/sales/db.yaml': 'version: 1\nname: sales\nengine: postgres\nschemas: [sales]\ndependsOn: [core]\n',
    });
    const workspace = Workspace.load(w.root);
    expect([...workspace.projects.keys()]).toEqual(['core', 'sales']);
    expect(workspace.withDependencies('sales').map((p) => p.name)).toEqual(['core', 'sales']);
    expect(workspace.project('db-sales').relativeRoot).toBe('db/sales');
  });

  it('names file, line and key of a wrong value in db.yaml', () => {
    const w = ws({
      'dbee.yaml': WORKSPACE_YAML,
      'db/core/db.yaml': 'version: 1\nname: core\nengine: oracle\nschemas: [core]\n',
    });
    const e = errorOf(() => Workspace.load(w.root));
    expect(e.format()).toBe('db/core/db.yaml:3:1: engine: expected one of "postgres", "teradata", got "oracle"');
    expect(e.exitCode).toBe(1);
  });

  it('names a missing required key and an unknown key together', () => {
    const w = ws({
      'dbee.yaml': WORKSPACE_YAML,
      'db/core/db.yaml': 'version: 1\nname: core\nengine: postgres\nschema: [core]\n',
    });
    const text = errorOf(() => Workspace.load(w.root)).format();
    expect(text).toContain('the workspace configuration has 2 problems');
    expect(text).toContain('db/core/db.yaml:1:1: schemas: required, expected array');
    expect(text).toContain('db/core/db.yaml:4:1: (document): unknown key "schema"');
  });

  it('reports malformed YAML with its line', () => {
    const w = ws({
      'dbee.yaml': WORKSPACE_YAML,
      'db/core/db.yaml': 'version: 1\nname: core\n  engine: postgres\nschemas: [core\n',
    });
    const text = errorOf(() => Workspace.load(w.root)).format();
    expect(text).toContain('db/core/db.yaml:2:7: malformed YAML: Nested mappings are not allowed in compact mappings');
  });

  it('reports a malformed dbee.yaml with file, line and key', () => {
    const w = ws({ 'dbee.yaml': WORKSPACE_YAML.replace('engine: postgres', 'engine: postgres\n    conection: {}') });
    const e = errorOf(() => Workspace.load(w.root));
    expect(e.format()).toBe(
      'dbee.yaml:6:5: environments.local: unknown key "conection" (check the spelling; see the configuration reference in README.md)',
    );
  });

  it('reports a bad preview: setting with file, line and key (dbee preview)', () => {
    const w = ws({ 'dbee.yaml': `${WORKSPACE_YAML}preview:\n  prefix: Preview-\n  maxCount: 0\n` });
    const text = errorOf(() => Workspace.load(w.root)).format();
    expect(text).toMatch(/dbee\.yaml:\d+:\d+: preview\.prefix: expected lower-case letters/);
    expect(text).toMatch(/dbee\.yaml:\d+:\d+: preview\.maxCount: /);
  });

  it('refuses an unknown environment, listing the known ones', () => {
    const w = ws({ 'dbee.yaml': WORKSPACE_YAML });
    const e = errorOf(() => Workspace.load(w.root).environment('staging', {}));
    expect(e.format()).toBe(
      'dbee.yaml:3:1: unknown environment "staging"\n  hint: use one of: local, server (declared under "environments" in dbee.yaml)',
    );
  });

  it('picks the environment: the name given (--env), else DBEE_ENV when set and not empty, else defaultEnvironment', () => {
    const workspace = Workspace.load(ws({ 'dbee.yaml': WORKSPACE_YAML }).root);
    const url = { DBEE_TEST_PG_URL: 'postgres://x@h/db' };

    expect(workspace.environment(undefined, {}).name).toBe('local');
    expect(workspace.environment(undefined, { DBEE_ENV: '' }).name).toBe('local');
    expect(workspace.environment(undefined, { DBEE_ENV: 'server', ...url }).name).toBe('server');
    expect(workspace.environment('local', { DBEE_ENV: 'server', ...url }).name).toBe('local');
    expect(workspace.environmentName(undefined, { DBEE_ENV: 'server' })).toEqual({ name: 'server', from: 'variable' });
  });

  it('refuses a DBEE_ENV that names no environment, saying the name came from DBEE_ENV', () => {
    const workspace = Workspace.load(ws({ 'dbee.yaml': WORKSPACE_YAML }).root);
    const e = errorOf(() => workspace.environment(undefined, { DBEE_ENV: 'staging' }));
    expect(e.exitCode).toBe(1);
    expect(e.format()).toBe(
      'dbee.yaml:3:1: DBEE_ENV="staging" names an unknown environment\n' +
        '  hint: set DBEE_ENV to one of: local, server (declared under "environments" in dbee.yaml), or unset it to use defaultEnvironment (local)',
    );
  });

  it('refuses an unset ${VAR}, naming the variable and the key, never using an empty string', () => {
    const w = ws({ 'dbee.yaml': WORKSPACE_YAML });
    const workspace = Workspace.load(w.root);
    // Resolving it needs nothing (plan --base/--head reads no database); reading its connection does.
    const server = workspace.environment('server', {});
    expect(server.engine).toBe('postgres');
    const e = errorOf(() => server.connection);
    expect(e.code).toBe('ENV_VAR_UNSET');
    expect(e.format()).toContain(
      'dbee.yaml:11:7: environment variable DBEE_TEST_PG_URL is not set (used by environments.server.connection.url)',
    );
    // Other environments do not need it.
    expect(workspace.environment('local', {}).connection).toEqual({ embedded: 'memory' });
    expect(workspace.environment('server', { DBEE_TEST_PG_URL: 'postgres://x@h/db' }).connection.url).toBe(
      'postgres://x@h/db',
    );
  });

  it('refuses a dependsOn on a project that does not exist, with its line', () => {
    const w = ws({
      'dbee.yaml': WORKSPACE_YAML,
      'db/sales/db.yaml': 'version: 1\nname: sales\nengine: postgres\nschemas: [sales]\ndependsOn:\n  - core\n',
    });
    const e = errorOf(() => Workspace.load(w.root));
    expect(e.format()).toBe(
      'db/sales/db.yaml:6:5: dependsOn "core": no project with that name\n  hint: known projects: sales',
    );
  });

  it('refuses two projects with the same name', () => {
    const w = ws({ 'dbee.yaml': WORKSPACE_YAML, 'a/db.yaml': coreYaml, 'b/db.yaml': coreYaml });
    expect(errorOf(() => Workspace.load(w.root)).format()).toContain(
      'b/db.yaml:2:1: project name "core" is already used by a/db.yaml',
    );
  });

  it('refuses, each at its line, names and values that would switch a guarantee off (issue #56)', () => {
    const w = ws({
      'dbee.yaml': `${WORKSPACE_YAML}    gates:
      promotedFrom: [qa]
    deploy:
      backfill: { batchSize: 5000, maxBatchSize: 100 }
notify:
  - url: https://hooks.example/\${TOKEN}
    environments: [local, nosuchenv]
  - url: ftp://hooks.example/x
`,
      'db/core/db.yaml': `${coreYaml}environments:\n  lcoal:\n    deploy: { autoRollback: true }\n`,
    });
    const text = errorOf(() => Workspace.load(w.root)).format();
    for (const line of [
      'dbee.yaml:15:19: environments.server.deploy.backfill.batchSize: batchSize is above maxBatchSize',
      'dbee.yaml:19:5: notify.1.url: expected an http:// or https:// URL',
    ])
      expect(text).toContain(line);
    const references = errorOf(() => {
      const fixed = ws({
        'dbee.yaml': `${WORKSPACE_YAML}    gates:\n      promotedFrom: [qa]\nnotify:\n  - url: https://h.example/x\n    environments: [local, nosuchenv]\n`,
        'db/core/db.yaml': `${coreYaml}environments:\n  lcoal:\n    deploy: { autoRollback: true }\n`,
      });
      return Workspace.load(fixed.root);
    }).format();
    for (const line of [
      'dbee.yaml:16:27: notify.0.environments.1: "nosuchenv" is not an environment declared under environments',
      'dbee.yaml:13:22: environments.server.gates.promotedFrom.0: "qa" is not an environment declared under environments',
      'db/core/db.yaml:6:3: environments.lcoal: "lcoal" is not an environment declared in dbee.yaml',
    ])
      expect(references).toContain(line);
  });
});
