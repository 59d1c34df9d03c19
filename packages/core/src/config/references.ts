import { DbeeError } from '../errors';
import type { ProjectConfig, WorkspaceConfig } from './schema';
import type { YamlFile } from './yaml-file';

/**
 * Names in dbee.yaml that must name an environment it declares: a typo there switches a guarantee off without a word
 * (a webhook that never fires, a promotion gate that can never pass, a catalog that does not exist). Each unknown
 * name is an error at its own file, line and column.
 */
export function unknownEnvironments(file: YamlFile, config: WorkspaceConfig): DbeeError[] {
  const known = new Set(Object.keys(config.environments));
  const errors: DbeeError[] = [];
  const check = (name: string, path: (string | number)[], what: string) => {
    if (known.has(name)) return;
    errors.push(
      new DbeeError(`${path.join('.')}: "${name}" is not an environment declared under environments (${what})`, {
        code: 'CONFIG_INVALID',
        location: file.locate(path),
        hint: `declare it, or name one of: ${[...known].sort().join(', ')}`,
        details: { key: path.join('.'), environment: name },
      }),
    );
  };
  (config.notify ?? []).forEach((hook, i) =>
    (hook.environments ?? []).forEach((env, j) =>
      check(env, ['notify', i, 'environments', j], 'this webhook would never be told anything about it'),
    ),
  );
  for (const [name, env] of Object.entries(config.environments)) {
    (env.gates?.promotedFrom ?? []).forEach((from, j) =>
      check(from, ['environments', name, 'gates', 'promotedFrom', j], 'no package could ever pass this gate'),
    );
    const discover = env.fleet?.discover?.environment;
    if (discover !== undefined)
      check(discover, ['environments', name, 'fleet', 'discover', 'environment'], 'the catalog the query runs on');
    const queries = env.compat?.queries;
    const sources = [
      ...(typeof queries === 'string' ? [queries] : (queries ?? [])),
      ...(typeof env.compat?.newQueries === 'string' ? [env.compat.newQueries] : (env.compat?.newQueries ?? [])),
    ];
    for (const source of sources) {
      // A live source of another environment (`<name>:<env>`, e.g. PostgreSQL's statement statistics): a bare name,
      // longer than a drive letter, then the environment; paths have a dot or a slash before any colon.
      const m = /^[A-Za-z_][A-Za-z0-9_]+:([^/\\]+)$/.exec(source);
      if (m) check(m[1]!, ['environments', name, 'compat'], `the queries of ${source}`);
    }
  }
  return errors;
}

/**
 * A project's per-environment overrides (`environments:` of db.yaml) under a name dbee.yaml does not declare never
 * apply: an `autoRollback: true` or a `lockTimeout` under a misspelt name would be dropped without a word.
 */
export function unknownProjectEnvironments(
  file: YamlFile,
  config: ProjectConfig,
  workspace: WorkspaceConfig,
): DbeeError[] {
  const known = Object.keys(workspace.environments);
  return Object.keys(config.environments ?? {})
    .filter((name) => !known.includes(name))
    .map(
      (name) =>
        new DbeeError(
          `environments.${name}: "${name}" is not an environment declared in dbee.yaml; these settings would never apply`,
          {
            code: 'CONFIG_INVALID',
            location: file.locate(['environments', name]),
            hint: `name one of: ${known.sort().join(', ')}`,
            details: { key: `environments.${name}`, environment: name },
          },
        ),
    );
}
