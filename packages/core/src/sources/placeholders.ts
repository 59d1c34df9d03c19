import { DbeeAggregateError, DbeeError } from '../errors';

/**
 * The one `{{name}}` grammar: sources, plan steps, checksums, release packages and every engine (BTEQ included)
 * read placeholders through this module. A name is letters, digits and `_` (dbee.yaml's variable names likewise).
 */
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
/** Looks like a placeholder but names what no variable can be called (`{{db-name}}`, `{{a$b}}`): an error, never left in SQL. */
const MALFORMED = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*[$-][A-Za-z0-9_$-]*)\s*\}\}/g;

/** The variable names the texts use as `{{name}}`, sorted, each once. */
export function placeholderNames(texts: readonly string[]): string[] {
  return [
    ...new Set(texts.flatMap((t) => (t.includes('{{') ? [...t.matchAll(PLACEHOLDER)].map((m) => m[1]!) : []))),
  ].sort();
}

/** `text` with its placeholders expanded (`expandPlaceholders` without the position map); `where` names it in errors. */
export function expandText(text: string, variables: Readonly<Record<string, string>>, where: string): string {
  return text.includes('{{') ? expandPlaceholders(text, variables, where).expanded : text;
}

/** One replacement made on a line: columns are 0-based, in the template and in the expanded text. */
interface Replacement {
  line: number;
  templateStart: number;
  templateEnd: number;
  expandedStart: number;
  expandedEnd: number;
}

/** A source file with `{{name}}` placeholders expanded, able to map positions back to the template. */
export interface ExpandedSource {
  template: string;
  expanded: string;
  /** Template text of the expanded span starting at (line, column) and running `length` characters (1-based). */
  templateSlice(line: number, column: number, length: number): string;
  /** The template's column (1-based) of the expanded text's (line, column): a position inside a value is its placeholder's end. */
  templateColumn(line: number, column: number): number;
}

/**
 * Expand `{{name}}` placeholders with per-environment variables. An unknown name is an error with file, line
 * and column; all unknown names in the file are reported at once. Values may not contain line breaks, so line
 * numbers in the expanded text are the template's.
 */
export function expandPlaceholders(
  template: string,
  variables: Readonly<Record<string, string>>,
  file: string,
): ExpandedSource {
  if (!template.includes('{{')) {
    return {
      template,
      expanded: template,
      templateSlice: (line, column, length) => sliceAt(template, line, column, length),
      templateColumn: (_line, column) => column,
    };
  }
  const errors: DbeeError[] = [];
  const replacements: Replacement[] = [];
  const lines = template.split('\n');
  const out = lines.map((text, i) => {
    for (const m of text.matchAll(MALFORMED)) {
      errors.push(
        new DbeeError(`placeholder {{${m[1]}}} has a name no variable can have`, {
          code: 'PLACEHOLDER_INVALID',
          location: { file, line: i + 1, column: m.index! + 1 },
          hint: 'variable names are letters, digits and "_": rename it in the source and under variables (dbee.yaml or db.yaml)',
        }),
      );
    }
    let delta = 0;
    return text.replace(PLACEHOLDER, (whole, name: string, offset: number) => {
      const value = variables[name];
      if (value === undefined) {
        errors.push(
          new DbeeError(`unknown placeholder {{${name}}}`, {
            code: 'PLACEHOLDER_UNKNOWN',
            location: { file, line: i + 1, column: offset + 1 },
            hint: `define "${name}" under variables in dbee.yaml (per environment) or db.yaml; known: ${Object.keys(variables).sort().join(', ')}`,
          }),
        );
        return whole;
      }
      if (/[\r\n]/.test(value)) {
        errors.push(
          new DbeeError(`variable "${name}" contains a line break`, {
            code: 'PLACEHOLDER_INVALID',
            location: { file, line: i + 1, column: offset + 1 },
          }),
        );
        return whole;
      }
      replacements.push({
        line: i + 1,
        templateStart: offset,
        templateEnd: offset + whole.length,
        expandedStart: offset + delta,
        expandedEnd: offset + delta + value.length,
      });
      delta += value.length - whole.length;
      return value;
    });
  });
  if (errors.length === 1) throw errors[0]!;
  if (errors.length > 1)
    throw new DbeeAggregateError(`${file} uses ${errors.length} placeholders that cannot be expanded`, errors);
  const expanded = out.join('\n');
  const byLine = new Map<number, Replacement[]>();
  for (const r of replacements) byLine.set(r.line, [...(byLine.get(r.line) ?? []), r]);
  const toTemplate = (line: number, col0: number): number => {
    let t = col0;
    for (const r of byLine.get(line) ?? []) {
      if (col0 >= r.expandedEnd) t = col0 + (r.templateEnd - r.expandedEnd);
      else if (col0 > r.expandedStart) t = r.templateEnd; // inside a value: snap to the placeholder's end
    }
    return t;
  };
  return {
    template,
    expanded,
    templateSlice(line, column, length) {
      // Find the end position (line, column) in the expanded text, then map both ends back.
      const startOffset = offsetOf(out, line, column - 1);
      const endOffset = startOffset + length;
      const end = positionOf(out, endOffset);
      const tStart = offsetOf(lines, line, toTemplate(line, column - 1));
      const tEnd = offsetOf(lines, end.line, toTemplate(end.line, end.col0));
      return template.slice(tStart, tEnd);
    },
    templateColumn: (line, column) => toTemplate(line, column - 1) + 1,
  };
}

function sliceAt(text: string, line: number, column: number, length: number): string {
  const start = offsetOf(text.split('\n'), line, column - 1);
  return text.slice(start, start + length);
}

function offsetOf(lines: string[], line: number, col0: number): number {
  let o = 0;
  for (let i = 0; i < line - 1; i++) o += lines[i]!.length + 1;
  return o + col0;
}

function positionOf(lines: string[], offset: number): { line: number; col0: number } {
  let o = 0;
  for (let i = 0; i < lines.length; i++) {
    if (offset <= o + lines[i]!.length) return { line: i + 1, col0: offset - o };
    o += lines[i]!.length + 1;
  }
  return { line: lines.length, col0: lines[lines.length - 1]!.length };
}
