import type { ObjectKey } from '../model/object-key';
import type { SourceLocation } from '../model/source';
import type { IndexedSource } from './workspace-index';
import { sameName, type NameChain, type TextRange } from './text';

/**
 * Where things are in a source's text: statements and references are located by the parser in the text it parsed
 * (placeholders expanded), and an editor shows the file as written.
 */

/** The offset in `source`'s text of a location the parser gave (in the expanded text of its last good parse). */
export function offsetOf(source: IndexedSource, location: { line: number; column?: number }): number {
  const given = location.column ?? 1;
  const column = source.expanded ? source.expanded.templateColumn(location.line, given) : given;
  return source.lines.offsetOfLocation(location.line, column);
}

/** The span of a statement that starts at `location` and is `template` in the file. */
export function statementSpan(
  source: IndexedSource,
  statement: { location: SourceLocation; template: string },
): { start: number; end: number } {
  const start = offsetOf(source, statement.location);
  return { start, end: Math.min(start + statement.template.length, source.text.length) };
}

/** The chain of names in `span` that names `key` (its last name is the key's name), the first one found. */
export function keyChain(
  source: IndexedSource,
  span: { start: number; end: number },
  key: ObjectKey,
): NameChain | null {
  for (const chain of source.lines.chains()) {
    if (chain.end <= span.start) continue;
    if (chain.start >= span.end) break;
    const last = chain.parts[chain.parts.length - 1]!;
    if (sameName(last.value, key.name) || sameName(last.written, key.name)) return chain;
  }
  return null;
}

/**
 * The range of the name of the object a statement defines (`sales.orders` in `CREATE TABLE sales.orders (...)`), or
 * of the statement's first line when the name is not written (an index named by PostgreSQL's default).
 */
export function keyRange(
  source: IndexedSource,
  statement: { location: SourceLocation; template: string },
  key: ObjectKey,
): TextRange {
  const span = statementSpan(source, statement);
  const chain = keyChain(source, span, key);
  if (chain) return source.lines.range(chain.start, chain.end);
  const line = source.lines.positionAt(span.start).line;
  return source.lines.range(span.start, Math.min(span.end, source.lines.lineEnd(line)));
}

/**
 * The range of the name a reference writes at `location`: its chain up to the part that is the reference's name
 * (`sales.orders`, not the `.id` after it). A parser may place a reference at its statement's start (PostgreSQL's
 * trigger function): then the first chain after it that writes the name is the one.
 */
export function referenceRange(
  source: IndexedSource,
  location: { line: number; column?: number },
  name: string,
  schema?: string,
): TextRange {
  const offset = offsetOf(source, location);
  for (const chain of source.lines.chains()) {
    if (chain.end <= offset) continue;
    const i = chain.parts.findIndex((p) => sameName(p.value, name));
    if (i < 0) continue;
    const written = chain.parts[i - 1];
    if (schema !== undefined && written && !sameName(written.value, schema) && !written.value.includes('{{')) continue;
    return source.lines.range(chain.parts[schema !== undefined && written ? i - 1 : i]!.start, chain.parts[i]!.end);
  }
  return source.lines.wordRange(offset);
}
