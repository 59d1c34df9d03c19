import type { Node } from 'yaml';
import type { ToolChange } from '../engine/import-role';
import { parseXml, XmlProblem } from './xml';

const yamlLibrary = () => require('yaml') as typeof import('yaml');

/**
 * Liquibase matches element and attribute names ignoring case (`ParsedNode.nodeMatches`: its JSON example writes
 * `primarykey`): each is read under its documented spelling.
 */
const SPELLING = new Map(
  [
    'addColumn',
    'addForeignKeyConstraint',
    'addNotNullConstraint',
    'addPrimaryKey',
    'addUniqueConstraint',
    'alwaysRun',
    'author',
    'autoIncrement',
    'baseColumnNames',
    'baseTableName',
    'baseTableSchemaName',
    'cacheSize',
    'cascadeConstraints',
    'changeSet',
    'changeSetAuthor',
    'changeSetId',
    'checkConstraint',
    'column',
    'columnName',
    'columnNames',
    'comment',
    'computed',
    'constraintName',
    'constraints',
    'context',
    'contextFilter',
    'createIndex',
    'createSequence',
    'createTable',
    'createView',
    'created',
    'cycle',
    'dataType',
    'databaseChangeLog',
    'dbms',
    'defaultNullValue',
    'defaultValue',
    'defaultValueBoolean',
    'defaultValueComputed',
    'defaultValueDate',
    'defaultValueNumeric',
    'deferrable',
    'delete',
    'deleteCascade',
    'descending',
    'dropColumn',
    'dropForeignKeyConstraint',
    'dropIndex',
    'dropNotNullConstraint',
    'dropTable',
    'dropView',
    'encoding',
    'endDelimiter',
    'errorIfMissingOrEmpty',
    'failOnError',
    'file',
    'filter',
    'foreignKeyName',
    'fullDefinition',
    'generationType',
    'id',
    'ifNotExists',
    'ignore',
    'include',
    'includeAll',
    'incrementBy',
    'indexName',
    'initiallyDeferred',
    'insert',
    'labels',
    'logicalFilePath',
    'maxValue',
    'minValue',
    'modifySql',
    'name',
    'newColumnName',
    'newTableName',
    'nullable',
    'objectQuotingStrategy',
    'oldColumnName',
    'oldTableName',
    'onDelete',
    'onUpdate',
    'path',
    'preConditions',
    'primaryKey',
    'primaryKeyName',
    'property',
    'referencedColumnNames',
    'referencedTableName',
    'referencedTableSchemaName',
    'references',
    'relativeToChangelogFile',
    'remarks',
    'renameColumn',
    'renameTable',
    'replaceIfExists',
    'rollback',
    'runAlways',
    'runInTransaction',
    'runOnChange',
    'schemaName',
    'selectQuery',
    'sequenceName',
    'splitStatements',
    'sql',
    'sqlFile',
    'startValue',
    'startWith',
    'stripComments',
    'tableName',
    'tag',
    'tagDatabase',
    'type',
    'unique',
    'uniqueConstraintName',
    'update',
    'validCheckSum',
    'value',
    'valueBoolean',
    'valueComputed',
    'valueDate',
    'valueNumeric',
    'viewName',
    'where',
  ].map((n) => [n.toLowerCase(), n]),
);

/** A name as Liquibase documents it (`primarykey` → `primaryKey`), or as written when it is not one the import knows. */
export function spelling(name: string): string {
  return SPELLING.get(name.toLowerCase()) ?? name;
}

/** The node with its type's and attributes' names as documented, its children too. */
function spelled(n: ToolChange): ToolChange {
  return {
    ...n,
    type: spelling(n.type),
    attrs: Object.fromEntries(Object.entries(n.attrs).map(([k, v]) => [spelling(k), v])),
    children: n.children.map(spelled),
  };
}

/** A changelog file read into one shape, whatever its format: `databaseChangeLog`'s entries as nodes. */
export interface ChangelogFile {
  /** Its entries in order: `changeSet`, `include`, `includeAll`, `property`, `preConditions`. */
  entries: ToolChange[];
  /** `logicalFilePath` of the changelog, if it sets one. */
  logicalFilePath?: string;
}

/** A changelog that cannot be read, with the line where it goes wrong. */
export class ChangelogProblem extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

/** A changelog by its extension: `.xml`, `.yaml`/`.yml`, `.json`, `.sql` (formatted SQL). */
export function readChangelog(path: string, text: string): ChangelogFile {
  const read = path.endsWith('.xml')
    ? fromXml(text)
    : path.endsWith('.yaml') || path.endsWith('.yml') || path.endsWith('.json')
      ? fromYaml(text)
      : path.endsWith('.sql')
        ? fromFormattedSql(text)
        : null;
  if (read) return { ...read, entries: read.entries.map(spelled) };
  throw new ChangelogProblem('not a changelog Liquibase reads (.xml, .yaml, .yml, .json, .sql)', 1);
}

function fromXml(text: string): ChangelogFile {
  let doc: ToolChange;
  try {
    doc = parseXml(text);
  } catch (e) {
    if (e instanceof XmlProblem) throw new ChangelogProblem(`malformed XML: ${e.message}`, e.line);
    throw e;
  }
  const root = doc.children[0];
  if (root?.type !== 'databaseChangeLog')
    throw new ChangelogProblem('the root element is not <databaseChangeLog>', root?.line ?? 1);
  return { entries: root.children, logicalFilePath: root.attrs.logicalFilePath };
}

/** YAML and JSON (JSON is YAML): `databaseChangeLog:` a list of one-key maps (`- changeSet: {…}`). */
function fromYaml(text: string): ChangelogFile {
  const { LineCounter, parseDocument, isMap, isSeq } = yamlLibrary();
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const lineOf = (n: Node | null | undefined) => (n?.range ? lines.linePos(n.range[0]).line : 1);
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new ChangelogProblem(`malformed YAML/JSON: ${e.message.split('\n')[0]}`, lines.linePos(e.pos[0]).line);
  }
  const top = doc.contents;
  const log = isMap(top) ? (top.get('databaseChangeLog', true) as Node | undefined) : undefined;
  if (!isSeq(log)) throw new ChangelogProblem('no databaseChangeLog: list at the top', lineOf(top));
  const entries: ToolChange[] = [];
  let logicalFilePath: string | undefined;
  for (const item of log.items) {
    const n = nodeOf(item as Node, lineOf);
    for (const c of n) {
      if (c.type === 'logicalFilePath') logicalFilePath = c.text;
      else entries.push(c);
    }
  }
  return { entries, logicalFilePath };
}

/**
 * A YAML list item (`- createTable: {…}`) as nodes: each key of a map item one node. A map's scalar values are its
 * attributes; a list value gives child nodes (`columns: [- column: …]` the columns, `changes:` the changes); a map
 * value one child node named by its key (`constraints:`); a scalar list item a node of the list's name with that text.
 */
function nodeOf(item: Node, lineOf: (n: Node | null | undefined) => number, listName = ''): ToolChange[] {
  const { isMap, isScalar } = yamlLibrary();
  if (isScalar(item))
    return [{ type: listName, attrs: {}, children: [], text: String(item.value ?? ''), line: lineOf(item) }];
  if (!isMap(item)) return [];
  const out: ToolChange[] = [];
  for (const pair of item.items) {
    const key = String((pair.key as { value?: unknown })?.value ?? pair.key);
    out.push(fromValue(key, pair.value as Node, lineOf(pair.key as Node), lineOf));
  }
  return out;
}

function fromValue(
  type: string,
  value: Node,
  line: number,
  lineOf: (n: Node | null | undefined) => number,
): ToolChange {
  const { isMap, isScalar, isSeq } = yamlLibrary();
  const node: ToolChange = { type, attrs: {}, children: [], text: '', line };
  if (isScalar(value)) {
    node.text = String(value.value ?? '').trim();
    return node;
  }
  if (isSeq(value)) {
    for (const i of value.items) node.children.push(...nodeOf(i as Node, lineOf, type));
    return node;
  }
  if (!isMap(value)) return node;
  for (const pair of value.items) {
    const key = String((pair.key as { value?: unknown })?.value ?? pair.key);
    const v = pair.value as Node;
    if (isScalar(v)) node.attrs[key] = String(v.value ?? '');
    else if (isSeq(v)) {
      // `changes:`, `columns:`, `rollback: [- sql: …]`: the list's items are children; a named list is kept as a node
      // of its own where its name matters (`rollback`, `preConditions`, `validCheckSum`, `where`).
      const kids = v.items.flatMap((i) => nodeOf(i as Node, lineOf, key));
      if (key === 'changes' || key === 'columns') node.children.push(...kids);
      else node.children.push({ type: key, attrs: {}, children: kids, text: '', line: lineOf(pair.key as Node) });
    } else node.children.push(fromValue(key, v, lineOf(pair.key as Node), lineOf));
  }
  return node;
}

const CHANGESET = /^--\s*changeset\s+("[^"]+"|[^:\s]+):("[^"]+"|\S+)(.*)$/i;
const ATTRS = /\s*([A-Za-z]+):("[^"]*"|\S*)/g;
const ROLLBACK = /^\s*--\s*rollback\s?(.*)$/i;
const ROLLBACK_START = /^\s*\/\*\s*liquibase\s+rollback\s*$/i;
const COMMENT = /^\s*--\s*comment:?\s+(.*)$/i;
const PROPERTY = /^\s*--\s*property\s+(.*)$/i;
const CHECKSUM = /^\s*--\s*validCheckSum:?\s+(.*)$/i;
const UNSUPPORTED = /^\s*--\s*(preconditions?|precondition-[\w-]+|include|includeAll|ignoreLines:?)\b/i;

/**
 * Liquibase's formatted SQL (liquibase-standard `AbstractFormattedChangeLogParser`): `--liquibase formatted sql`
 * first, then `--changeset author:id attr:value …` lines; a change set's SQL is every other line up to the next,
 * trimmed; `--rollback …` lines and `/* liquibase rollback … *\/` blocks its rollback; `--comment:` its comment.
 * Each change set becomes a node as an XML one would be (`<changeSet>` with one `<sql>` and a `<rollback>`).
 */
function fromFormattedSql(text: string): ChangelogFile {
  const lines = text.split(/\r?\n/);
  const first = lines.findIndex((l) => l.trim() !== '');
  if (first < 0 || !/^--\s*liquibase\s+formatted\s+sql\b/i.test(lines[first]!.trim()))
    throw new ChangelogProblem('a .sql changelog must start with --liquibase formatted sql', first < 0 ? 1 : first + 1);
  const entries: ToolChange[] = [];
  let current: Formatted | null = null;
  for (let i = first + 1; i < lines.length; i++) {
    const l = lines[i]!;
    const cs = CHANGESET.exec(l.trim());
    if (cs) {
      if (current) entries.push(formattedChangeSet(current));
      const node: ToolChange = { type: 'changeSet', attrs: {}, children: [], text: '', line: i + 1 };
      node.attrs.author = unquote(cs[1]!);
      node.attrs.id = unquote(cs[2]!);
      for (const a of cs[3]!.matchAll(ATTRS)) node.attrs[a[1]!] = unquote(a[2]!);
      if (node.attrs.contextFilter !== undefined) node.attrs.context = node.attrs.contextFilter;
      current = { node, sql: [], rollback: null, rollbackLine: 0 };
      continue;
    }
    const prop = PROPERTY.exec(l);
    if (prop && !current) {
      const attrs: Record<string, string> = {};
      for (const a of prop[1]!.matchAll(ATTRS)) attrs[a[1]!] = unquote(a[2]!);
      entries.push({ type: 'property', attrs, children: [], text: '', line: i + 1 });
    } else if (current) i = formattedLine(current, lines, i);
    else if (l.trim() && !/^\s*--/.test(l)) throw new ChangelogProblem('SQL before the first --changeset line', i + 1);
  }
  if (current) entries.push(formattedChangeSet(current));
  return { entries };
}

/** A formatted-SQL change set while it is read. */
interface Formatted {
  node: ToolChange;
  sql: string[];
  rollback: string[] | null;
  rollbackLine: number;
}

/** Line `i` of a change set (a multi-line rollback read whole): the index of the last line it took. */
function formattedLine(current: Formatted, lines: string[], i: number): number {
  const l = lines[i]!;
  const child = (type: string, text: string) =>
    current.node.children.push({ type, attrs: {}, children: [], text, line: i + 1 });
  const unsupported = UNSUPPORTED.exec(l);
  const rb = ROLLBACK.exec(l);
  const comment = COMMENT.exec(l);
  const sum = CHECKSUM.exec(l);
  if (unsupported)
    child(unsupported[1]!.toLowerCase().startsWith('precondition') ? 'preConditions' : unsupported[1]!, l.trim());
  else if (rb) {
    if (current.rollback === null) current.rollbackLine = i + 1;
    (current.rollback ??= []).push(rb[1]!);
  } else if (ROLLBACK_START.test(l)) {
    if (current.rollback === null) current.rollbackLine = i + 1;
    current.rollback ??= [];
    for (i++; i < lines.length && !/^\s*\*\/\s*$/.test(lines[i]!); i++) current.rollback.push(lines[i]!);
  } else if (comment) child('comment', comment[1]!.trim());
  else if (sum) child('validCheckSum', sum[1]!.trim());
  else current.sql.push(l);
  return i;
}

/** The change set as an XML one would be: its SQL one `<sql>` (trimmed, as Liquibase does), its `<rollback>`. */
function formattedChangeSet(current: Formatted): ToolChange {
  const attrs = current.node.attrs;
  const sqlNode: ToolChange = {
    type: 'sql',
    attrs: {},
    children: [],
    text: current.sql.join('\n').trim(),
    line: current.node.line + 1,
  };
  for (const k of ['splitStatements', 'stripComments', 'endDelimiter'])
    if (attrs[k] !== undefined) sqlNode.attrs[k] = attrs[k]!;
  current.node.children.unshift(sqlNode);
  if (current.rollback !== null)
    current.node.children.push({
      type: 'rollback',
      attrs: {},
      children: [],
      text: current.rollback.join('\n').trim(),
      line: current.rollbackLine,
    });
  return current.node;
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}
