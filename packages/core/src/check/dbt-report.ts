import { DbeeError, ExitCode } from '../errors';
import type { DbtFinding, DbtNodeResult, DbtReport } from './dbt-check';
import type { DbtDriftFinding } from './dbt-drift';

/** How the dbt check is judged: unknown models `warn` (default) or `fail`; drift findings carry their own severity. */
export interface DbtPolicy {
  unknown: 'warn' | 'fail';
}

/**
 * The verdict of a dbt report: a refusal (exit 1) when a node breaks, when an unknown one meets `unknown: fail`, or
 * when a drift rule of severity `error` finds something; else the warnings to say (exit 0).
 */
export function dbtVerdict(
  report: DbtReport,
  drift: readonly DbtDriftFinding[],
  policy: DbtPolicy,
): { refusal: DbeeError | null; warnings: string[] } {
  const breaking = report.nodes.filter((n) => n.verdict === 'breaking');
  const unknown = report.nodes.filter((n) => n.verdict === 'unknown');
  const driftErrors = drift.filter((d) => d.severity === 'error');
  const said: string[] = [];
  const warnings: string[] = [];
  if (breaking.length)
    said.push(
      `${count(breaking.length, 'dbt node')} break${breaking.length === 1 ? 's' : ''} (first: ${first(breaking[0]!)})`,
    );
  const unknownText = unknown.length
    ? `${count(unknown.length, 'dbt node')} read${unknown.length === 1 ? 's' : ''} what the release changes and cannot be judged (first: ${first(unknown[0]!)})`
    : '';
  if (unknown.length && policy.unknown === 'fail') said.push(`${unknownText} (check.dbt.unknown: fail)`);
  else if (unknown.length) warnings.push(unknownText);
  if (driftErrors.length)
    said.push(`${count(driftErrors.length, 'drift finding')} of severity error (first: ${driftErrors[0]!.message})`);
  warnings.push(...drift.filter((d) => d.severity === 'warn').map((d) => `dbt drift: ${d.message}`));
  if (!said.length) return { refusal: null, warnings };
  return {
    refusal: new DbeeError(`the dbt check fails: ${said.join('; ')}`, {
      code: 'DBT_BROKEN',
      exitCode: ExitCode.invalid,
      hint: 'change the release so the dbt models keep working (expand/contract: add before you remove), or change the models; see docs/dbt.md for each verdict',
    }),
    warnings,
  };
}

function first(n: DbtNodeResult): string {
  const f = n.findings.find((x) => x.verdict === n.verdict) ?? n.findings[0];
  return `${where(n, f)}: ${f?.message ?? n.verdict}`;
}

function where(n: DbtNodeResult, f: DbtFinding | undefined): string {
  return f?.at ? `${f.at.file}:${f.at.line}:${f.at.column}` : n.file;
}

function count(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? '' : 's'}`;
}

function steps(f: DbtFinding): string {
  return f.steps.length ? ` (step ${f.steps.map((s) => `${s.order} ${s.action} ${s.key}`).join('; step ')})` : '';
}

/** The report as text: one block per node, its findings, what is downstream; then sources, drift and a summary. */
export function formatDbtText(report: DbtReport, drift: readonly DbtDriftFinding[]): string {
  const lines: string[] = [];
  for (const n of report.nodes) {
    lines.push(`${n.verdict.toUpperCase()} ${n.resourceType} ${n.name} (${n.file})`);
    for (const f of n.findings)
      lines.push(
        `  ${f.verdict === n.verdict ? '' : `${f.verdict}: `}${f.at ? `${f.at.file}:${f.at.line}:${f.at.column}: ` : ''}${f.message}${steps(f)}`,
      );
    if (n.downstream.length)
      lines.push(`  downstream: ${n.downstream.map((d) => `${d.resourceType} ${d.name}`).join(', ')}`);
  }
  for (const s of report.sources)
    lines.push(
      `source ${s.name} (${s.file}) is ${s.object}, which the release changes (step ${s.steps.map((x) => `${x.order} ${x.action}`).join(', ')})`,
    );
  for (const n of report.nextVersion?.nodes ?? [])
    lines.push(
      `AFTER COMPLETE (new version ${report.nextVersion!.schemas.join(', ')}) ${n.verdict.toUpperCase()} ${n.resourceType} ${n.name}: ${first(n)}`,
    );
  for (const d of drift) lines.push(`DRIFT ${d.severity} ${d.rule}: ${d.message}`);
  for (const note of report.notes) lines.push(`note: ${note}`);
  lines.push(summary(report, drift));
  return lines.join('\n') + '\n';
}

function summary(report: DbtReport, drift: readonly DbtDriftFinding[]): string {
  const by = (v: string) => report.nodes.filter((n) => n.verdict === v).length;
  return `dbt (manifest v${report.manifest.version}, ${report.level} level): ${report.nodes.length} node${report.nodes.length === 1 ? '' : 's'} read what the release changes: ${by('breaking')} breaking, ${by('unknown')} unknown, ${by('pass')} pass; ${report.sources.length} source${report.sources.length === 1 ? '' : 's'} over changed objects${drift.length ? `; ${drift.length} drift finding${drift.length === 1 ? '' : 's'}` : ''}`;
}

/** The report in Markdown, for a pull request. */
export function formatDbtMarkdown(report: DbtReport, drift: readonly DbtDriftFinding[]): string {
  const out = ['### dbt models against this release', '', summary(report, drift), ''];
  if (report.nodes.length) {
    out.push('| verdict | node | where | why | plan step | downstream |', '| --- | --- | --- | --- | --- | --- |');
    for (const n of report.nodes)
      for (const f of n.findings)
        out.push(
          `| ${f.verdict === 'breaking' ? '**breaking**' : f.verdict} | ${cell(`${n.resourceType} ${n.name}`)} | ${cell(f.at ? `${f.at.file}:${f.at.line}` : n.file)} | ${cell(f.message)} | ${cell(f.steps.map((s) => `${s.order} ${s.action} ${s.key}`).join('<br>'))} | ${cell(n.downstream.map((d) => d.name).join(', '))} |`,
        );
    out.push('');
  }
  if (drift.length) {
    out.push('| drift | severity | finding |', '| --- | --- | --- |');
    for (const d of drift) out.push(`| ${d.rule} | ${d.severity} | ${cell(d.message)} |`);
    out.push('');
  }
  if (report.nextVersion?.nodes.length) {
    out.push(`After \`dbee complete\` (new version ${report.nextVersion.schemas.join(', ')}):`, '');
    for (const n of report.nextVersion.nodes)
      out.push(`- ${n.verdict} ${n.resourceType} ${cell(n.name)}: ${cell(first(n))}`);
    out.push('');
  }
  for (const note of report.notes) out.push(`_${cell(note)}_`, '');
  return out.join('\n');
}

/** The report as JSON data. */
export function dbtJson(report: DbtReport, drift: readonly DbtDriftFinding[]): object {
  return { ...report, drift };
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
