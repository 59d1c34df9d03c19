import type { Node } from 'yaml';
import { TextLines, type TextRange } from './text';

/** A replacement of a range of a file's text. */
export interface TextEdit {
  range: TextRange;
  newText: string;
}

/**
 * The edit of a db.yaml's text that adds `dependency` to its `dependsOn`, keeping the file as written: a flow list
 * (`dependsOn: [core]`) gets `, dependency` before its bracket, a block list a `- dependency` line after its last
 * item, and a file without the key a `dependsOn: [dependency]` line after `schemas` (or at the end). Null when the
 * list has it already or the file does not parse.
 */
export function addDependsOn(text: string, dependency: string): TextEdit | null {
  const { parseDocument, isSeq, isScalar } = require('yaml') as typeof import('yaml');
  const lines = new TextLines(text);
  const doc = parseDocument(text);
  if (doc.errors.length) return null;
  const insert = (offset: number, newText: string): TextEdit => ({ range: lines.range(offset, offset), newText });
  const node = doc.get('dependsOn', true) as Node | undefined;
  if (isSeq(node)) {
    if (node.items.some((i) => isScalar(i) && i.value === dependency)) return null;
    const [start, end] = node.range!;
    if (node.flow) {
      const close = text.lastIndexOf(']', end);
      if (close < start) return null;
      return insert(close, node.items.length ? `, ${dependency}` : dependency);
    }
    const last = node.items[node.items.length - 1] as Node | undefined;
    const first = node.items[0] as Node | undefined;
    if (!last?.range || !first?.range) return null;
    const dash = text.lastIndexOf('-', first.range[0]);
    const lineStart = text.lastIndexOf('\n', dash) + 1;
    const indent = text.slice(lineStart, dash);
    const lastEnd = lines.lineEnd(lines.positionAt(last.range[1] - 1).line);
    return insert(lastEnd, `\n${indent}- ${dependency}`);
  }
  if (doc.has('dependsOn')) return null;
  const schemas = doc.get('schemas', true) as Node | undefined;
  if (schemas?.range) {
    const end = lines.lineEnd(lines.positionAt(Math.max(schemas.range[1] - 1, 0)).line);
    return insert(end, `\ndependsOn: [${dependency}]`);
  }
  return insert(text.length, `${text.endsWith('\n') || !text ? '' : '\n'}dependsOn: [${dependency}]\n`);
}
