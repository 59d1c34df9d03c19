import type { Connection, StatementDescription } from '../engine/engine';
import { DbeeError } from '../errors';
import { formatKey, type ObjectKey } from '../model/object-key';
import type { Reference } from '../model/source';
import type { PlanStep } from '../plan/plan';
import type { AppQuery } from './queries';

/**
 * Will the running application still work after a plan? Each of its queries is parsed and analysed by the database
 * (never run) on the scratch copy of the target's schemas that the verified dry run builds, once before the plan's
 * steps and once after them: a query that worked before and fails after breaks the application; one whose result
 * columns change names or types may. What cannot be said this way: anything that depends on rows, and a query that
 * already failed before (reported as not checked).
 */
export interface CompatReport {
  /** Queries described on both sides. */
  checked: number;
  /** Worked before the plan, fail after it. */
  broken: BrokenQuery[];
  /** Work on both sides, but a result column they returned is gone, renamed, of another type or moved. */
  changed: ChangedQuery[];
  /** Failed already before the plan (not the application's current schema, or not describable): not judged. */
  unchecked: { query: AppQuery; error: string }[];
  /**
   * The new application version's queries (`--new-queries`, `compat.newQueries`), described after the plan only
   * (with the expand-contract strategy, through the new version schema): each must work there. Absent when no source
   * names them.
   */
  next?: NewQueriesReport;
}

/** The new application version's queries after the plan. */
export interface NewQueriesReport {
  /** Queries described. */
  checked: number;
  /** Fail after the plan: the error, and the plan steps on an object they name. */
  failing: BrokenQuery[];
}

export interface BrokenQuery {
  query: AppQuery;
  /** The server's error after the plan, first line. */
  error: string;
  code?: string;
  /** The plan steps that changed an object the query names (empty when the parser found none among the steps). */
  steps: { order: number; key: string; action: string }[];
}

export interface ChangedQuery {
  query: AppQuery;
  before: string[];
  after: string[];
  steps: { order: number; key: string; action: string }[];
}

/** A probe of the scratch copy at one moment: each query's description, in the order of `queries`. */
export type Descriptions = StatementDescription[];

/**
 * Describe every query on `conn` (parse and analyse; nothing runs) with `searchPath` set, for the application's
 * unqualified names. Column types are named by `typeName` (one catalog read for all of them).
 */
export async function describeQueries(
  conn: Connection,
  queries: readonly AppQuery[],
  searchPath: string | null,
): Promise<Descriptions> {
  if (!conn.describe) {
    throw new DbeeError(
      'this engine cannot describe a statement without running it, so the compatibility check cannot run',
      {
        code: 'COMPAT_UNSUPPORTED',
      },
    );
  }
  if (searchPath) await conn.execute(searchPath);
  const out: Descriptions = [];
  for (const q of queries) out.push(await conn.describe(q.text));
  return out;
}

/** Compares the descriptions before and after the plan; `typeNames` names the column type ids for messages. */
export function compareDescriptions(
  queries: readonly AppQuery[],
  before: Descriptions,
  after: Descriptions,
  steps: readonly PlanStep[],
  typeNames: ReadonlyMap<number, string>,
): CompatReport {
  const report: CompatReport = { checked: 0, broken: [], changed: [], unchecked: [] };
  const columns = (d: StatementDescription) =>
    d.ok ? d.columns.map((c) => `${c.name} ${typeNames.get(c.typeId) ?? c.typeId}`) : [];
  queries.forEach((query, i) => {
    const b = before[i]!;
    const a = after[i]!;
    if (!b.ok) {
      report.unchecked.push({ query, error: b.message });
      return;
    }
    report.checked++;
    if (!a.ok) {
      report.broken.push({
        query,
        error: a.message,
        code: a.code,
        steps: stepsTouching(query.references, steps, a.message),
      });
      return;
    }
    const was = columns(b);
    const is = columns(a);
    // Columns added after the ones it had (a `SELECT *` over a table that gained a column) change nothing the
    // application reads by name or position; a column gone, renamed, retyped or moved does.
    if (was.some((c, n) => is[n] !== c))
      report.changed.push({ query, before: was, after: is, steps: stepsTouching(query.references, steps, null) });
  });
  return report;
}

/** The new application's queries, described once the plan ran: every one that fails there. */
export function checkNewQueries(
  queries: readonly AppQuery[],
  after: Descriptions,
  steps: readonly PlanStep[],
): NewQueriesReport {
  const failing: BrokenQuery[] = [];
  queries.forEach((query, i) => {
    const a = after[i]!;
    if (!a.ok)
      failing.push({ query, error: a.message, code: a.code, steps: stepsTouching(query.references, steps, a.message) });
  });
  return { checked: queries.length, failing };
}

const RELATION_KINDS = new Set(['table', 'view', 'materialized-view', 'sequence']);

/**
 * The steps that change an object the query names: a relation (table, view, materialized view) or a function, by
 * schema and name (an unqualified name matches any schema); else, for an error naming a relation or function
 * (`relation "sales.orders" does not exist`, `function sales.total(integer) does not exist`), the steps on it.
 */
function stepsTouching(
  references: readonly Reference[],
  steps: readonly PlanStep[],
  error: string | null,
): BrokenQuery['steps'] {
  const matches = (key: ObjectKey, ref: { kind: string; schema?: string; name: string }) => {
    const kindOk =
      ref.kind === 'relation'
        ? RELATION_KINDS.has(key.kind)
        : ref.kind === 'function'
          ? key.kind === 'function' || key.kind === 'procedure'
          : key.kind === ref.kind;
    const target = key.kind === 'index' || key.kind === 'trigger' || key.kind === 'policy' ? null : key;
    const parent = key.parent
      ? { schema: key.parent.split('.')[0], name: key.parent.split('.').slice(1).join('.') }
      : null;
    const same = (o: { schema?: string; name: string } | null) =>
      !!o && o.name === ref.name && (!ref.schema || o.schema === ref.schema);
    return (kindOk && same(target)) || (ref.kind === 'relation' && same(parent));
  };
  const fromError = error ? namedInError(error) : [];
  const refs = [...references, ...fromError];
  let found = steps.filter((s) => refs.some((r) => matches(s.objectKey, r)));
  // A migration's statements are the team's own, opaque to the diff: when no step names the object, they may have.
  if (!found.length) found = steps.filter((s) => s.action === 'migrate');
  return found.map((s) => ({ order: s.order, key: s.key ?? formatKey(s.objectKey), action: s.action }));
}

/** The relation or function a PostgreSQL error names, as a reference. */
function namedInError(message: string): { kind: string; schema?: string; name: string }[] {
  const rel = /relation "([^"]+)" does not exist/.exec(message);
  if (rel) return [split('relation', rel[1]!)];
  const fn = /function ([\w."]+)\(/.exec(message);
  if (fn) return [split('function', fn[1]!.replace(/"/g, ''))];
  return [];
}

function split(kind: string, qualified: string): { kind: string; schema?: string; name: string } {
  const dot = qualified.lastIndexOf('.');
  return dot < 0
    ? { kind, name: qualified }
    : { kind, schema: qualified.slice(0, dot), name: qualified.slice(dot + 1) };
}

/** The report as text for the terminal: one block per broken or changed query. */
export function formatCompatText(report: CompatReport): string {
  const lines: string[] = [];
  const stepText = (s: BrokenQuery['steps']) =>
    s.length ? ` (step ${s.map((x) => `${x.order} ${x.action} ${x.key}`).join('; step ')})` : '';
  for (const b of report.broken) {
    lines.push(`BREAKS ${b.query.origin}: ${b.error}${stepText(b.steps)}`, `  ${oneLine(b.query.text)}`);
  }
  for (const c of report.changed) {
    lines.push(
      `CHANGES ${c.query.origin}: result columns (${c.before.join(', ')}) -> (${c.after.join(', ')})${stepText(c.steps)}`,
      `  ${oneLine(c.query.text)}`,
    );
  }
  for (const f of report.next?.failing ?? []) {
    lines.push(
      `FAILS (new application) ${f.query.origin}: ${f.error}${stepText(f.steps)}`,
      `  ${oneLine(f.query.text)}`,
    );
  }
  lines.push(
    `compatibility: ${report.checked} quer${report.checked === 1 ? 'y' : 'ies'} checked, ${report.broken.length} broken, ${report.changed.length} with other result columns` +
      (report.unchecked.length ? `, ${report.unchecked.length} not checked (they fail on the current schema too)` : ''),
  );
  if (report.next)
    lines.push(
      `compatibility of the new application: ${report.next.checked} quer${report.next.checked === 1 ? 'y' : 'ies'} checked, ${report.next.failing.length} failing`,
    );
  return lines.join('\n') + '\n';
}

/** The report in Markdown, for a pull request. */
export function formatCompatMarkdown(report: CompatReport): string {
  const out = [
    `### Application queries against this plan`,
    '',
    `${report.checked} checked · **${report.broken.length} broken** · ${report.changed.length} with other result columns · ${report.unchecked.length} not checked`,
    '',
  ];
  if (report.broken.length) {
    out.push('| query | where | error | plan step |', '| --- | --- | --- | --- |');
    for (const b of report.broken)
      out.push(
        `| \`${cell(oneLine(b.query.text))}\` | ${cell(b.query.origin)} | ${cell(b.error)} | ${cell(b.steps.map((s) => `${s.order} ${s.action} ${s.key}`).join('<br>'))} |`,
      );
    out.push('');
  }
  if (report.changed.length) {
    out.push('| query | where | before | after |', '| --- | --- | --- | --- |');
    for (const c of report.changed)
      out.push(
        `| \`${cell(oneLine(c.query.text))}\` | ${cell(c.query.origin)} | ${cell(c.before.join(', '))} | ${cell(c.after.join(', '))} |`,
      );
    out.push('');
  }
  if (report.next) {
    out.push(`New application version: ${report.next.checked} checked · **${report.next.failing.length} failing**`, '');
    if (report.next.failing.length) {
      out.push('| query | where | error | plan step |', '| --- | --- | --- | --- |');
      for (const f of report.next.failing)
        out.push(
          `| \`${cell(oneLine(f.query.text))}\` | ${cell(f.query.origin)} | ${cell(f.error)} | ${cell(f.steps.map((s) => `${s.order} ${s.action} ${s.key}`).join('<br>'))} |`,
        );
      out.push('');
    }
  }
  return out.join('\n');
}

/** The report as JSON data (the queries' text, origin and calls; no parser internals). */
export function compatJson(report: CompatReport): object {
  const q = (query: AppQuery) => ({
    text: query.text,
    origin: query.origin,
    ...(query.calls !== undefined ? { calls: query.calls } : {}),
  });
  return {
    checked: report.checked,
    broken: report.broken.map((b) => ({ query: q(b.query), error: b.error, code: b.code ?? null, steps: b.steps })),
    changed: report.changed.map((c) => ({ query: q(c.query), before: c.before, after: c.after, steps: c.steps })),
    unchecked: report.unchecked.map((u) => ({ query: q(u.query), error: u.error })),
    ...(report.next
      ? {
          new: {
            checked: report.next.checked,
            failing: report.next.failing.map((f) => ({
              query: q(f.query),
              error: f.error,
              code: f.code ?? null,
              steps: f.steps,
            })),
          },
        }
      : {}),
  };
}

function oneLine(sql: string): string {
  const s = sql.replace(/\s+/g, ' ').trim();
  return s.length > 160 ? `${s.slice(0, 157)}...` : s;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}
