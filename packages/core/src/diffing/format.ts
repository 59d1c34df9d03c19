import type { PlanStep } from '../plan/plan';
import { canonicalJson } from '../plan/serialize';
import { hazardLine } from '../schema/lint-rules';
import type { DiffResult } from './diff-plan';

const SIGN: Record<string, string> = {
  create: '+',
  drop: '-',
  replace: '~',
  alter: '~',
  'add-constraint': '+',
  migrate: '>',
  'rename-aside': '~',
  restore: '~',
};

/** Steps grouped by object, in plan order of each object's first step. */
function groups(steps: PlanStep[]): [string, PlanStep[]][] {
  const map = new Map<string, PlanStep[]>();
  for (const s of steps) map.set(s.key, [...(map.get(s.key) ?? []), s]);
  return [...map.entries()];
}

/** Readable text, grouped by object; coloured when `colour` (a terminal). */
export function formatDiffText(r: DiffResult, colour: boolean): string {
  const c = (code: number, s: string) => (colour ? `\u001b[${code}m${s}\u001b[0m` : s);
  const paint = (action: string, s: string) =>
    action === 'drop' ? c(31, s) : action === 'create' || action === 'add-constraint' ? c(32, s) : c(33, s);
  const lines = [
    `${r.project}${r.dependencyOf ? ` (a dependency of ${r.dependencyOf}: its release package carries this)` : ''}: ${r.from} -> ${r.to}${r.cached ? ' (cached)' : ''}`,
  ];
  if (r.pendingDrops?.length)
    lines.push(
      `  pending drop (source removed, no drop decision: deploy leaves it unless it plans ${r.project} by a diff): ${r.pendingDrops.join(', ')}`,
    );
  for (const f of inFlightLines(r)) lines.push(`  ${f}`);
  for (const u of r.unplanned ?? []) lines.push(`  needs a migration: ${u.key}: ${u.reason}`);
  for (const u of r.plan.uncompared ?? []) lines.push(`  not compared: ${u}`);
  if (!r.plan.steps.length)
    return lines
      .concat(
        r.unplanned?.length
          ? '  nothing else differs'
          : r.plan.uncompared?.length
            ? '  no differences in what was compared'
            : '  no differences',
        '',
      )
      .join('\n');
  for (const [key, steps] of groups(r.plan.steps)) {
    lines.push('', `  ${c(1, key)}`);
    for (const s of steps) {
      const hz = s.hazards.length ? '  ' + c(35, `[${s.hazards.map((h) => h.kind).join(', ')}]`) : '';
      lines.push(
        `    ${paint(s.action, `${SIGN[s.action] ?? '~'} ${s.action}`)}${s.transactional ? '' : ' (outside a transaction)'}${hz}`,
      );
      for (const sql of s.statements)
        lines.push(
          ...sql
            .trim()
            .split('\n')
            .map((l) => `        ${l}`),
        );
      for (const h of s.hazards) lines.push(`      ${c(35, 'hazard')} ${hazardLine(h)}`);
    }
  }
  const hazards = r.plan.steps.flatMap((s) => s.hazards.map((h) => h.kind));
  lines.push(
    '',
    `${r.plan.steps.length} change${r.plan.steps.length === 1 ? '' : 's'}${hazards.length ? `, hazards: ${[...new Set(hazards)].sort().join(', ')}` : ', no hazards'}`,
    '',
  );
  return lines.join('\n');
}

/** JSON for tools: the sides, the steps and a summary. Deterministic. */
export function formatDiffJson(r: DiffResult): string {
  return canonicalJson({
    project: r.project,
    from: r.from,
    to: r.to,
    cached: r.cached,
    baseFingerprint: r.plan.baseFingerprint,
    changes: r.plan.steps.length,
    ...(r.pendingDrops ? { pendingDrops: r.pendingDrops } : {}),
    ...(r.unplanned ? { unplanned: r.unplanned } : {}),
    ...(r.plan.uncompared ? { uncompared: r.plan.uncompared } : {}),
    ...(r.inFlight ? { inFlight: r.inFlight.map((f) => ({ environment: f.environment, ...f.work.json })) } : {}),
    ...(r.dependencies ? { dependencies: r.dependencies.map((d) => JSON.parse(formatDiffJson(d))) } : {}),
    hazards: [...new Set(r.plan.steps.flatMap((s) => s.hazards.map((h) => h.kind)))].sort(),
    steps: r.plan.steps.map((s) => ({
      order: s.order,
      key: s.key,
      action: s.action,
      statements: s.statements,
      reverse: s.reverse,
      transactional: s.transactional,
      hazards: s.hazards,
    })),
  });
}

/**
 * Markdown for a pull-request comment. `graphCommand`: the `dbee graph` command that draws the same change (what it
 * touches and everything that depends on it), given as a line to run.
 */
export function formatDiffMarkdown(r: DiffResult, graphCommand?: string): string {
  const out = [
    `### dbee diff: \`${r.project}\`${r.dependencyOf ? ` (a dependency of \`${r.dependencyOf}\`, in its release package)` : ''}`,
    '',
    `${r.from} → ${r.to}`,
    '',
  ];
  for (const f of inFlightLines(r)) out.push(`${f.replace(/^in flight/, 'In flight')}`, '');
  if (r.unplanned?.length)
    out.push('Changes only a migration can make:', '', ...r.unplanned.map((u) => `- \`${u.key}\`: ${u.reason}`), '');
  if (r.plan.uncompared?.length) out.push('Not compared:', '', ...r.plan.uncompared.map((u) => `- ${u}`), '');
  if (!r.plan.steps.length)
    return out
      .concat(
        r.unplanned?.length
          ? 'Nothing else differs.'
          : r.plan.uncompared?.length
            ? 'No differences in what was compared.'
            : 'No differences.',
        '',
      )
      .join('\n');
  if (graphCommand)
    out.push(
      `Impact on the object graph (what changes, and what depends on it): \`${graphCommand}\`, then open the page it writes.`,
      '',
    );
  out.push('| # | object | change | hazards |', '| --- | --- | --- | --- |');
  for (const s of r.plan.steps)
    out.push(`| ${s.order} | \`${s.key}\` | ${s.action} | ${s.hazards.map((h) => `⚠️ ${h.kind}`).join(', ') || '-'} |`);
  out.push('', '<details><summary>SQL</summary>', '', '```sql');
  for (const s of r.plan.steps)
    out.push(`-- ${s.order}. ${s.action} ${s.key}`, ...s.statements.map((x) => x.trim() + ';'), '');
  out.push('```', '', '</details>', '');
  return out.join('\n');
}

/**
 * One line per side with work in flight: what it holds (dbee's own objects, not differences: `livePlan`) and the
 * commands that end it.
 */
function inFlightLines(r: DiffResult): string[] {
  return (r.inFlight ?? []).map(
    (f) =>
      `in flight on ${f.environment}, not compared as differences: ${f.work.describe(` ${r.project} --env ${f.environment}`)}`,
  );
}
