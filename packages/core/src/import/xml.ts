import type { ToolChange } from '../engine/import-role';

/**
 * A small XML reader for changelogs: elements with their attributes, text (entities and CDATA decoded) and 1-based
 * line, namespace prefixes dropped; comments, processing instructions and the DOCTYPE skipped. Changelogs need no
 * more, and every problem names its line. Throws `XmlProblem` on malformed input.
 */
export class XmlProblem extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

const NAME = /[A-Za-z_][\w.:-]*/y;
const ATTR = /\s*([A-Za-z_][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')/y;

export function parseXml(text: string): ToolChange {
  let i = 0;
  let line = 1;
  const advance = (to: number) => {
    for (; i < to; i++) if (text.charCodeAt(i) === 10) line++;
  };
  const root: ToolChange = { type: '#document', attrs: {}, children: [], text: '', line: 1 };
  const stack: { node: ToolChange; raw: string; name: string }[] = [{ node: root, raw: '', name: '' }];
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const end = lt < 0 ? text.length : lt;
    stack[stack.length - 1]!.raw += decode(text.slice(i, end), line);
    advance(end);
    if (lt < 0) break;
    if (text.startsWith('<!--', i)) {
      const close = text.indexOf('-->', i);
      if (close < 0) throw new XmlProblem('a comment is not closed (-->)', line);
      advance(close + 3);
    } else if (text.startsWith('<![CDATA[', i)) {
      const close = text.indexOf(']]>', i);
      if (close < 0) throw new XmlProblem('a CDATA section is not closed (]]>)', line);
      stack[stack.length - 1]!.raw += text.slice(i + 9, close);
      advance(close + 3);
    } else if (text.startsWith('<?', i) || text.startsWith('<!', i)) {
      const close = text.indexOf('>', i);
      if (close < 0) throw new XmlProblem('a declaration is not closed (>)', line);
      advance(close + 1);
    } else if (text.startsWith('</', i)) {
      NAME.lastIndex = i + 2;
      const m = NAME.exec(text);
      const open = stack.pop();
      if (!m || !open || stack.length === 0 || open.name !== m[0])
        throw new XmlProblem(`closing tag </${m?.[0] ?? ''}> does not close <${open?.name ?? ''}>`, line);
      open.node.text = open.raw.trim();
      const close = text.indexOf('>', i);
      advance(close + 1);
    } else {
      NAME.lastIndex = i + 1;
      const m = NAME.exec(text);
      if (!m) throw new XmlProblem('a tag without a name', line);
      const node: ToolChange = { type: local(m[0]), attrs: {}, children: [], text: '', line };
      let j = NAME.lastIndex;
      for (;;) {
        ATTR.lastIndex = j;
        const a = ATTR.exec(text);
        if (!a) break;
        if (!a[1]!.startsWith('xmlns') && !a[1]!.startsWith('xsi:'))
          node.attrs[local(a[1]!)] = decode(a[3] ?? a[4] ?? '', line);
        j = ATTR.lastIndex;
      }
      const rest = /\s*(\/?)>/y;
      rest.lastIndex = j;
      const r = rest.exec(text);
      if (!r) throw new XmlProblem(`tag <${m[0]}> is not closed (>)`, line);
      stack[stack.length - 1]!.node.children.push(node);
      advance(rest.lastIndex);
      if (!r[1]) stack.push({ node, raw: '', name: m[0] });
    }
  }
  if (stack.length > 1) throw new XmlProblem(`<${stack[stack.length - 1]!.name}> is not closed`, line);
  return root;
}

function local(name: string): string {
  return name.slice(name.indexOf(':') + 1);
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decode(s: string, line: number): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (whole, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(Number.parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(Number(e.slice(1)));
    const v = ENTITIES[e];
    if (v === undefined) throw new XmlProblem(`unknown entity ${whole}`, line);
    return v;
  });
}
