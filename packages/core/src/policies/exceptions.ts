import type { SourceFile } from '../sources/discover';
import { DbeeError } from '../errors';
import type { SourceLocation } from '../model/source';
import { RULES_BY_NAME } from './catalogue';
import { nearestName } from './settings';

/** An exception to a rule, written in a source file: `-- dbee:allow <rule> <reason>`. */
export interface PolicyException {
  rule: string;
  reason: string;
  /** Where the comment is. */
  location: SourceLocation;
}

const ALLOW = /--\s*dbee:allow\b(.*)$/;

/**
 * The exceptions written in the files: a line comment `-- dbee:allow <rule> <reason>` excuses that rule for what the
 * file defines (its objects, or the migration it is). A reason is required, and the rule must exist: both are refused
 * with the file and line, so an exception cannot be mistyped into silence.
 */
export function readExceptions(files: readonly SourceFile[]): { exceptions: PolicyException[]; problems: DbeeError[] } {
  const exceptions: PolicyException[] = [];
  const problems: DbeeError[] = [];
  for (const file of files) {
    if (!file.text.includes('dbee:allow')) continue;
    file.text.split('\n').forEach((text, i) => {
      const m = ALLOW.exec(text);
      if (!m) return;
      const location = { file: file.path, line: i + 1, column: text.indexOf('--') + 1 };
      const [rule = '', ...words] = m[1]!.trim().split(/\s+/);
      const reason = words.join(' ').trim();
      if (!RULES_BY_NAME.has(rule)) {
        const near = nearestName(rule, [...RULES_BY_NAME.keys()]);
        problems.push(
          new DbeeError(`dbee:allow names no rule "${rule}"${near ? `; did you mean "${near}"?` : ''}`, {
            code: 'POLICY_EXCEPTION_INVALID',
            location,
            hint: 'write -- dbee:allow <rule> <reason>, with a rule of docs/policies.md',
          }),
        );
      } else if (!reason) {
        problems.push(
          new DbeeError(`dbee:allow ${rule} gives no reason`, {
            code: 'POLICY_EXCEPTION_INVALID',
            location,
            hint: `say why after the rule: -- dbee:allow ${rule} <why this object may break it>`,
          }),
        );
      } else exceptions.push({ rule, reason, location });
    });
  }
  return { exceptions, problems };
}
