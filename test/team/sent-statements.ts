import type { TeamEnvironment, TeamWorkspace } from '../support/team-workspace';

/**
 * The SQL a dry run printed (`deploy --dry-run`, `rollback --dry-run`): the statement lines of each `-- step` block,
 * comments left out. Compared with `sentSince` through `sameSql`.
 */
export function printedStatements(stdout: string): string {
  const out: string[] = [];
  let inStep = false;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('-- step ')) inStep = true;
    else if (!line.trim()) inStep = false;
    else if (inStep && !line.startsWith('--')) out.push(line);
  }
  return out.join('\n');
}

/** What the real runs sent, from the ledger: the statements of every step of the deployments after `afterId`, in order. */
export async function sentSince(team: TeamWorkspace, env: TeamEnvironment, afterId: number, kind?: 'deploy' | 'rollback'): Promise<string> {
  const rows = await team.query<{ statements: string[] }>(
    env,
    `SELECT s.statements FROM dbee.steps s JOIN dbee.deployments d ON d.id = s.deployment_id
      WHERE d.id > $1 AND ($2::text IS NULL OR d.kind = $2) AND s.status = 'applied' ORDER BY d.id, s.step_order`,
    [afterId, kind ?? null],
  );
  return rows.flatMap((r) => r.statements).join(';\n');
}

/** The newest deployment id in the environment's ledger (0 when none). */
export async function lastDeployment(team: TeamWorkspace, env: TeamEnvironment): Promise<number> {
  const [{ ledger }] = await team.query<{ ledger: boolean }>(env, `SELECT to_regclass('dbee.deployments') IS NOT NULL AS ledger`);
  if (!ledger) return 0;
  const [{ id }] = await team.query<{ id: number | null }>(env, 'SELECT max(id)::int AS id FROM dbee.deployments');
  return id ?? 0;
}

/** SQL text compared without its layout: runs of blanks and statement separators are one space. */
export function sameSql(text: string): string {
  return text.replace(/[\s;]+/g, ' ').trim();
}
