/**
 * The names PostgreSQL gives to unnamed indexes and constraints (`ChooseRelationName`, `ChooseConstraintName`,
 * `makeObjectName` in its sources). Names that would collide with objects outside the statement cannot be
 * predicted here; collisions inside one statement are (PostgreSQL appends 1, 2, ... to the label).
 */

const NAMEDATALEN = 64;

/** `name1_name2_label`, truncating the longer of name1 and name2 so that the result fits in 63 bytes. */
export function makeObjectName(name1: string, name2: string | undefined, label: string): string {
  let n1 = utf8Length(name1);
  let n2 = name2 === undefined ? 0 : utf8Length(name2);
  const overhead = (label ? label.length + 1 : 0) + (name2 === undefined ? 0 : 1);
  const avail = NAMEDATALEN - 1 - overhead;
  while (n1 + n2 > avail) {
    if (n1 > n2) n1--;
    else n2--;
  }
  let name = clipUtf8(name1, n1);
  if (name2 !== undefined) name += '_' + clipUtf8(name2, n2);
  return label ? `${name}_${label}` : name;
}

/** Choose `name1_name2_label`, or with label `label1`, `label2`... when the name is already in `used`; records it. */
export function chooseName(name1: string, name2: string | undefined, label: string, used: Set<string>): string {
  let name = makeObjectName(name1, name2, label);
  for (let pass = 1; used.has(name); pass++) name = makeObjectName(name1, name2, `${label}${pass}`);
  used.add(name);
  return name;
}

/** Column names joined by `_`, cut once past NAMEDATALEN (`ChooseIndexNameAddition`). */
export function nameAddition(names: readonly string[]): string {
  let out = '';
  for (const n of names) {
    if (out.length > 0) out += '_';
    out += n;
    if (utf8Length(out) >= NAMEDATALEN) break;
  }
  return out;
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** The longest prefix of `s` that fits in `bytes` UTF-8 bytes without splitting a character. */
function clipUtf8(s: string, bytes: number): string {
  if (utf8Length(s) <= bytes) return s;
  let out = '';
  let used = 0;
  for (const ch of s) {
    const w = utf8Length(ch);
    if (used + w > bytes) break;
    out += ch;
    used += w;
  }
  return out;
}
