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

/** An environment of the team workspace: a server one, or `local` (embedded). */
export type AnyEnvironment = TeamEnvironment | 'local';

/** Runs `sql` on the environment's database (the server's scratch database, or the embedded one) and returns the rows. */
export async function rowsIn<T extends Record<string, unknown>>(
  team: TeamWorkspace,
  env: AnyEnvironment,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  if (env !== 'local') return team.query<T>(env, sql, params);
  return team.withLocal(async (conn) => (await conn.query<T>(sql, params)).rows);
}

/** What the real runs sent, from the ledger: the statements of every step of the deployments after `afterId`, in order. */
export async function sentSince(
  team: TeamWorkspace,
  env: AnyEnvironment,
  afterId: number,
  kind?: 'deploy' | 'rollback',
): Promise<string> {
  const rows = await rowsIn<{ statements: string[] }>(
    team,
    env,
    `SELECT s.statements FROM dbee.steps s JOIN dbee.deployments d ON d.id = s.deployment_id
      WHERE d.id > $1 AND ($2::text IS NULL OR d.kind = $2) AND s.status = 'applied' ORDER BY d.id, s.step_order`,
    [afterId, kind ?? null],
  );
  return rows.flatMap((r) => r.statements).join(';\n');
}

/** The newest deployment id in the environment's ledger (0 when none). */
export async function lastDeployment(team: TeamWorkspace, env: AnyEnvironment): Promise<number> {
  const [{ ledger }] = await rowsIn<{ ledger: boolean }>(
    team,
    env,
    `SELECT to_regclass('dbee.deployments') IS NOT NULL AS ledger`,
  );
  if (!ledger) return 0;
  const [{ id }] = await rowsIn<{ id: number | null }>(team, env, 'SELECT max(id)::int AS id FROM dbee.deployments');
  return id ?? 0;
}

/** SQL text compared without its layout: runs of blanks and statement separators are one space. */
export function sameSql(text: string): string {
  return text.replace(/[\s;]+/g, ' ').trim();
}
