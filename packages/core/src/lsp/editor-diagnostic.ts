import { DbeeAggregateError, DbeeError } from '../errors';
import type { TextLines, TextRange } from './text';

/** How bad a diagnostic is: `error` is what `dbee plan` or a deployment would refuse or fail on. */
export type DiagnosticSeverity = 'error' | 'warning' | 'information' | 'hint';

/** A repair the language server can offer for a diagnostic (a code action). */
export type EditorFix =
  /** Add `dependency` to `dependsOn` of the db.yaml at `configFile`. */
  | { kind: 'add-depends-on'; configFile: string; dependency: string }
  /** Create the rollback script `file` of a migration. */
  | { kind: 'create-rollback'; file: string; migration: string }
  /** Write `text` in place of the diagnostic's range ("did you mean"). */
  | { kind: 'replace'; text: string };

/** One problem found in a file of the workspace, where an editor shows it. */
export interface EditorDiagnostic {
  /** The file, relative to the workspace root, `/`-separated. */
  file: string;
  range: TextRange;
  severity: DiagnosticSeverity;
  /** dbee's error code (`SQL_SYNTAX`, `DEPENDENCY_UNDECLARED`, `REFERENCE_UNKNOWN`...). */
  code: string;
  message: string;
  /** What to do about it, when dbee knows. */
  hint?: string;
  /** Other places that take part (the other objects of a cycle, the definition a reference meant). */
  related?: Array<{ file: string; range: TextRange; message: string }>;
  /** A repair offered as a code action. */
  fix?: EditorFix;
}

/** The errors a thrown error holds (an aggregate's, or itself); anything that is not a `DbeeError` is thrown again. */
export function userErrors(e: unknown): DbeeError[] {
  if (e instanceof DbeeAggregateError) return e.errors.flatMap(userErrors);
  if (e instanceof DbeeError) return [e];
  throw e;
}

/**
 * The range a `DbeeError`'s location names in `lines`: the word at its line and column (a `{{placeholder}}` whole),
 * the line without its blanks when it has no column, the first line when it names only the file. `column` maps a
 * column of the parsed text to the file's (placeholders expanded before parsing change columns).
 */
export function rangeOfLocation(
  lines: TextLines,
  location: { line?: number; column?: number } | undefined,
  column: (line: number, column: number) => number = (_l, c) => c,
): TextRange {
  if (!location?.line) return lines.lineRange(0);
  if (!location.column) return lines.lineRange(location.line - 1);
  const offset = lines.offsetOfLocation(location.line, column(location.line, location.column));
  if (lines.text.startsWith('{{', offset)) {
    const end = lines.text.indexOf('}}', offset);
    const lineEnd = lines.lineEnd(location.line - 1);
    if (end >= 0 && end < lineEnd) return lines.range(offset, end + 2);
  }
  return lines.wordRange(offset);
}

/** A `DbeeError` as a diagnostic of `file` (the hint goes on a line of its own, as the command line prints it). */
export function diagnosticOf(
  error: DbeeError,
  file: string,
  range: TextRange,
  severity: DiagnosticSeverity = 'error',
): EditorDiagnostic {
  return {
    file,
    range,
    severity,
    code: error.code,
    message: error.message,
    ...(error.hint ? { hint: error.hint } : {}),
  };
}
