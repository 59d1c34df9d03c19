import { DbeeError, ExitCode } from '../errors';
import type { CompatReport } from './compat';

/** What a compatibility check came to: its report, or why it could not run (the copy not made, a step failing there). */
export type CompatOutcome = { report: CompatReport } | { notRun: string };

/**
 * How an environment judges the check (`compat.mode`): `fail` (the default, and what `--queries` asks for when the
 * environment says `off`), `warn`, or `off` (the check does not run).
 */
export type CompatMode = 'fail' | 'warn' | 'off';

/** The verdict: a refusal (exit 1), a warning to print (exit 0), or neither. */
export type CompatVerdict = { refusal: DbeeError } | { warning: string } | null;

/**
 * The one rule every command that runs the check follows (`deploy --dry-run` direct and expand-contract, `dbee check`,
 * `diff --format markdown`):
 *
 * | mode | a query breaks | nothing checked | not run |
 * | --- | --- | --- | --- |
 * | fail | refused | refused | refused |
 * | warn | warning | refused | refused |
 * | off | (no check) | (no check) | (no check) |
 *
 * `warn` lets a team deploy a change it knows breaks queries; it never turns a check that answered nothing (an empty
 * source, queries that all fail on today's schema already, a copy that could not be made) into a green result.
 * Queries whose result columns change are reported, never refused.
 */
export function compatVerdict(outcome: CompatOutcome, mode: CompatMode): CompatVerdict {
  if (mode === 'off') return null;
  if ('notRun' in outcome)
    return {
      refusal: new DbeeError(`the compatibility check could not run: ${outcome.notRun}`, {
        code: 'COMPAT_NOT_RUN',
        hint: "the check needs the plan applied to a scratch copy of the target's schemas; set compat.mode: off to go without it",
        exitCode: ExitCode.invalid,
      }),
    };
  const nothing = nothingChecked(outcome.report);
  if (nothing) return { refusal: nothing };
  const broken = brokenQueries(outcome.report);
  if (!broken) return null;
  return mode === 'warn' ? { warning: `${broken.message} (compat.mode: warn)` } : { refusal: broken };
}

/** Nothing checked is not "nothing breaks": a source with no query, or queries that all fail on today's schema. */
function nothingChecked(report: CompatReport): DbeeError | null {
  const hint =
    "point --queries (or compat.queries) at this application's queries, and set compat.searchPath to the search path it uses";
  if (report.checked === 0) {
    const first = report.unchecked[0];
    return new DbeeError(
      first
        ? `none of the ${plural(report.unchecked.length, 'application query', 'application queries')} could be checked: each fails on the current schema already (first: ${first.query.origin}: ${first.error})`
        : 'the query source holds no query to check',
      { code: 'COMPAT_NOTHING_CHECKED', hint, exitCode: ExitCode.invalid },
    );
  }
  if (report.next && report.next.checked === 0)
    return new DbeeError("the new application's query source holds no query to check", {
      code: 'COMPAT_NOTHING_CHECKED',
      hint: "point --new-queries (or compat.newQueries) at the new application version's queries",
      exitCode: ExitCode.invalid,
    });
  return null;
}

/** Queries of the running application the plan breaks, and queries of the new one that fail after it. */
function brokenQueries(report: CompatReport): DbeeError | null {
  const said: string[] = [];
  const first = report.broken[0] ?? report.next?.failing[0];
  if (report.broken.length)
    said.push(
      `${report.broken.length} of the application's ${plural(report.checked, 'query', 'queries')} would fail after this deployment`,
    );
  if (report.next?.failing.length)
    said.push(
      `${report.next.failing.length} of the new application's ${plural(report.next.checked, 'query', 'queries')} fail${report.next.failing.length === 1 ? 's' : ''} on the new schema`,
    );
  if (!first) return null;
  return new DbeeError(`${said.join('; ')} (first: ${first.query.origin}: ${first.error})`, {
    code: 'COMPAT_BROKEN',
    hint: "change the plan so the running application keeps working (expand/contract: add before you remove) and the new one's queries match the new schema, or set the environment's compat.mode to warn",
    exitCode: ExitCode.invalid,
  });
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
