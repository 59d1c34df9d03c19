import { relative, resolve } from 'node:path';
import { Ledger, Workspace, graphProject, lockOwner } from '@dbee/core';
import { engineByName } from './engines';

/**
 * Fingerprint of a project's live database, for the Nx `diff` target's runtime input: the engine's catalog
 * fingerprint of the project's schemas plus the id of the last deployment in the ledger. Throws when the
 * database cannot be read; the caller turns that into a nonce so a failure is never cached.
 */
export async function fingerprint(args: { workspaceRoot: string; projectRoot: string; env?: string }): Promise<string> {
  const workspace = Workspace.load(Workspace.findRoot(args.workspaceRoot));
  const rel = relative(workspace.root, resolve(workspace.root, args.projectRoot)).split('\\').join('/');
  const project = [...workspace.projects.values()].find((p) => p.relativeRoot === rel);
  if (!project) throw new Error(`no db.yaml project at ${args.projectRoot}`);
  const environment = workspace.environment(args.env);
  const engine = engineByName(environment.engine);
  if (!engine.fingerprint) throw new Error(`the ${engine.name} engine has no fingerprint`);
  const schemas = graphProject(project, workspace.settings(project, environment).variables, workspace.projects).schemas;
  const context = { workspaceRoot: workspace.root };
  const lock = await engine.lock(environment, context, 'deploy', { timeoutMs: 10_000, owner: lockOwner() });
  try {
    const conn = await engine.connect(environment, context);
    try {
      const catalog = await engine.fingerprint(conn, { schemas });
      const last = (await new Ledger(conn, engine.ledger).deployments(project.name, environment.name, 1))[0];
      return `${environment.name} ${catalog} deployment:${last?.id ?? 'none'}`;
    } finally {
      await conn.close();
    }
  } finally {
    await lock.release();
  }
}
