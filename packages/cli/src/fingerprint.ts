import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Workspace, graphProject, withSession, type DbProject, openLedger } from '@dbee/core';
import { engineByName } from './engines';

/**
 * Fingerprint of a live database, for the Nx `diff` target's runtime input: the environment's name, the engine's
 * catalog fingerprint (the database's identity and the definitions of the objects in scope) and the last
 * deployment in the ledger of each project in scope. Throws when the database cannot be read; the caller turns
 * that into a nonce so a failure is never cached. `waitMs`: how long to wait for the environment's lock (a diff or a
 * deployment may hold it; default 10 s).
 *
 * With `projectRoot`, the scope is that project's schemas. Without it, every project of the workspace on the
 * environment's engine: one value for the whole environment, so that Nx evaluates ONE runtime input for the diffs
 * of all projects (one process, one lock, one catalog query) instead of one per project.
 */
export async function fingerprint(args: {
  workspaceRoot: string;
  projectRoot?: string;
  env?: string;
  waitMs?: number;
}): Promise<string> {
  const workspace = Workspace.load(Workspace.findRoot(args.workspaceRoot));
  const environment = workspace.environment(args.env);
  const projects = scope(workspace, args.projectRoot).filter((p) => p.config.engine === environment.engine);
  const engine = engineByName(environment.engine);
  const diff = engine.diff;
  if (!diff) throw new Error(`the ${engine.name} engine has no fingerprint`);
  const variables = (p: DbProject) => workspace.settings(p, environment).variables;
  const schemas = [
    ...new Set(
      projects.flatMap((p) => graphProject(p, variables(p), workspace.projects, engine.capabilities.keyNames).schemas),
    ),
  ].sort();
  return withSession(
    { engine, environment, workspaceRoot: workspace.root, waitMs: args.waitMs ?? 10_000 },
    async ({ conn }) => {
      const catalog = await diff.fingerprint(conn, { schemas });
      const ledger = openLedger(conn, engine.ledger);
      const last: string[] = [];
      for (const p of projects)
        last.push(`${(await ledger.deployments.list(p.name, environment.name, 1))[0]?.id ?? 'none'}`);
      const deployments =
        args.projectRoot === undefined ? `deployments:${last.join(',')}` : `deployment:${last[0] ?? 'none'}`;
      return `${environment.name} ${catalog} ${deployments}${compatInputs(workspace.root, environment.compat)}`;
    },
  );
}

/** The project at `projectRoot`, or every project of the workspace (sorted by name) when it is undefined. */
function scope(workspace: Workspace, projectRoot: string | undefined): DbProject[] {
  const all = [...workspace.projects.values()].sort((a, b) => a.name.localeCompare(b.name));
  if (projectRoot === undefined) return all;
  const rel = relative(workspace.root, resolve(workspace.root, projectRoot)).split('\\').join('/');
  const project = all.find((p) => p.relativeRoot === rel);
  if (!project) throw new Error(`no db.yaml project at ${projectRoot}`);
  return [project];
}

/**
 * What the diff's compatibility check reads (docs/compat.md), for the fingerprint: the query files' contents by hash
 * (the running application's and the new one's);
 * `pg_stat_statements` changes with every query the application runs, so a diff that reads it is never served from
 * the cache (a nonce). Empty when the environment names no query source.
 */
function compatInputs(
  root: string,
  compat: { queries: string | string[]; newQueries?: string | string[]; mode?: string } | undefined,
): string {
  if (!compat || compat.mode === 'off') return '';
  const hash = createHash('sha256');
  for (const spec of [compat.queries, compat.newQueries ?? []].flat()) {
    if (/^pg_stat_statements(:|$)/.test(spec)) return ` compat:${randomUUID()}`;
    const files = (path: string): string[] =>
      !existsSync(path)
        ? []
        : statSync(path).isDirectory()
          ? readdirSync(path)
              .sort()
              .flatMap((f) => files(join(path, f)))
          : [path];
    for (const f of files(resolve(root, spec)))
      hash
        .update(`${relative(root, f)}\0`)
        .update(readFileSync(f))
        .update('\0');
  }
  return ` compat:${hash.digest('hex').slice(0, 16)}`;
}
