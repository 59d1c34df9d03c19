import type { PolicyException } from './exceptions';
import type { PolicyFinding } from './rule';
import type { PolicySettings } from './settings';
import type { PolicySubject } from './subject';

/** What the rules found: the findings kept, and the exceptions that excused others. */
export interface PolicyJudgment {
  findings: PolicyFinding[];
  /** Each exception that excused at least one finding, with what it excused. */
  excused: Array<PolicyException & { findings: PolicyFinding[] }>;
  /** Exceptions that excused nothing (the object was fixed, or the comment is in the wrong file). */
  unused: PolicyException[];
  /** The rules that ran (level not `off`). */
  rules: string[];
}

/**
 * Run every rule that is not `off` over the subject, place each finding at its source (the line of the column or
 * constraint it names where the object's statement has it), and set aside those an exception in the same file excuses.
 * Findings are sorted by file, line and rule: the same sources give the same report.
 */
export function judgePolicies(
  subject: PolicySubject,
  settings: PolicySettings,
  exceptions: readonly PolicyException[],
): PolicyJudgment {
  const findings: PolicyFinding[] = [];
  const active = settings.rules.filter((s) => s.level !== 'off');
  for (const { rule, level, params } of active) {
    for (const raw of rule.check(subject, params)) {
      const location = raw.location ?? (raw.object ? subject.locate(raw.object, raw.near) : null);
      findings.push({
        rule: rule.name,
        level: level as PolicyFinding['level'],
        object: raw.object,
        message: raw.message,
        location,
      });
    }
  }
  const excused = exceptions.map((e) => ({ ...e, findings: [] as PolicyFinding[] }));
  const kept = findings.filter((f) => {
    const by = excused.find((e) => e.rule === f.rule && f.location?.file === e.location.file);
    if (by) by.findings.push(f);
    return !by;
  });
  kept.sort(
    (a, b) =>
      (a.location?.file ?? '').localeCompare(b.location?.file ?? '') ||
      (a.location?.line ?? 0) - (b.location?.line ?? 0) ||
      a.rule.localeCompare(b.rule) ||
      a.message.localeCompare(b.message),
  );
  return {
    findings: kept,
    excused: excused.filter((e) => e.findings.length > 0),
    unused: excused.filter((e) => e.findings.length === 0).map(({ findings: _, ...e }) => e),
    rules: active.map((s) => s.rule.name),
  };
}
