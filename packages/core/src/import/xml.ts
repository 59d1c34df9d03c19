import type { SaxesTagPlain } from 'saxes';
import type { ToolChange } from '../engine/import-role';

/** saxes, loaded when a changelog is XML (as `yaml` is for YAML ones). */
const saxesLibrary = () => require('saxes') as typeof import('saxes');

/** XML that is not well-formed, with the line where the parser stopped. */
export class XmlProblem extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

/**
 * An XML document as a tree for changelogs: elements with their attributes, text (entities and CDATA decoded) and the
 * 1-based line of their start tag, namespace prefixes and `xmlns`/`xsi:` attributes dropped; comments, processing
 * instructions and the DOCTYPE skipped. Read by saxes, a conforming non-validating parser, so a document that is not
 * well-formed (a bare `&`, an unclosed or mismatched tag, a repeated attribute, a second root) is refused as an XML
 * parser such as Liquibase's refuses it. Throws `XmlProblem` at its first error, with its line.
 */
export function parseXml(text: string): ToolChange {
  const { SaxesParser } = saxesLibrary();
  const parser = new SaxesParser<{ xmlns: false; position: true }>({ xmlns: false, position: true });
  const root: ToolChange = { type: '#document', attrs: {}, children: [], text: '', line: 1 };
  const stack: { node: ToolChange; raw: string }[] = [{ node: root, raw: '' }];
  const top = () => stack[stack.length - 1]!;
  const lineAt = lines(text);
  let line = 1;
  parser.on('opentagstart', () => {
    // saxes has read the name and the character after it, maybe a line break: the tag's line is its `<`'s.
    line = lineAt(text.lastIndexOf('<', parser.position - 1));
  });
  parser.on('opentag', (tag) => {
    const node: ToolChange = { type: local(tag.name), attrs: attributes(tag), children: [], text: '', line };
    top().node.children.push(node);
    if (!tag.isSelfClosing) stack.push({ node, raw: '' });
  });
  parser.on('text', (t) => {
    top().raw += t;
  });
  parser.on('cdata', (t) => {
    top().raw += t;
  });
  parser.on('closetag', (tag) => {
    if (tag.isSelfClosing) return;
    const open = stack.pop()!;
    open.node.text = open.raw.trim();
  });
  parser.on('error', (e) => {
    const amp = bareAmpersand(text);
    if (amp >= 0 && amp < parser.position)
      throw new XmlProblem('a bare & (write &amp;, or put the text in a CDATA section)', lines(text)(amp));
    throw new XmlProblem(e.message.replace(/^\d+:\d+: /, '').replace(/\.$/, ''), parser.line);
  });
  parser.write(text).close();
  return root;
}

function attributes(tag: SaxesTagPlain): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(tag.attributes))
    if (!name.startsWith('xmlns') && !name.startsWith('xsi:')) out[local(name)] = value;
  return out;
}

function local(name: string): string {
  return name.slice(name.indexOf(':') + 1);
}

/** The line of an offset, for offsets asked in increasing order. */
function lines(text: string): (offset: number) => number {
  let counted = 0;
  let line = 1;
  return (offset) => {
    for (; counted < offset; counted++) if (text.charCodeAt(counted) === 10) line++;
    return line;
  };
}

/**
 * The offset of the first `&` that starts no entity reference, outside comments and CDATA sections, or -1. saxes reads
 * such an `&` as a reference up to the next `;`, so its own error may come at the end of the document.
 */
function bareAmpersand(text: string): number {
  const blanked = text.replace(/<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>/g, (m) => ' '.repeat(m.length));
  return blanked.search(/&(?!#\d+;|#x[0-9a-fA-F]+;|[A-Za-z_:][\w.:-]*;)/);
}
