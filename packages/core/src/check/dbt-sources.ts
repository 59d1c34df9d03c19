import { isMap, isScalar, isSeq, parseDocument, type YAMLMap, YAMLSeq, type Document } from 'yaml';
import { DbeeError } from '../errors';
import type { SchemaModel } from '../schema/model';

/**
 * dbt `sources:` YAML written from a project's desired schema (`dbee dbt-sources`), as dbt documents sources
 * (docs.getdbt.com/reference/source-properties): one source per schema, one table entry per table and view with its
 * columns, `data_type` as the engine prints it and the objects' comments as descriptions.
 *
 * Written again over an existing file, it updates what dbee owns and keeps what a person wrote:
 * - a source, table or column dbee does not have yet is added (a new column at the end of its table's list);
 * - `data_type` follows the schema; `database`/`schema` follow the options;
 * - a description is written only where there is none (a hand-written one is never replaced);
 * - everything else (tests, `data_tests`, `meta`, `config`, `freshness`, `loaded_at_field`, comments) is left as it is;
 * - a table or column the schema no longer has goes when it holds only what dbee writes, and stays otherwise (the
 *   drift rule then reports it).
 */
export interface DbtSourcesInput {
  model: SchemaModel;
  /** The schemas written, in order. */
  schemas: readonly string[];
  /** The source's name for a schema, e.g. the project's name for its one schema. */
  sourceName(schema: string): string;
  /** `database:` of each source (the warehouse database dbt connects to); absent: not written. */
  database?: string;
  /** The existing file's text, to update; absent: a new file. */
  existing?: string;
  /** The file's name, for errors. */
  file: string;
}

/** What dbee writes in an entry; an entry with other keys holds what a person wrote. */
const OWNED = new Set(['name', 'identifier', 'data_type', 'description', 'database', 'schema', 'tables', 'columns']);

/** The YAML text of the sources, written or updated (see `DbtSourcesInput`). */
export function writeDbtSources(input: DbtSourcesInput): string {
  const doc: Document = input.existing ? parseDocument(input.existing) : parseDocument('version: 2\n');
  if (doc.errors.length)
    throw new DbeeError(`${input.file} is not YAML dbee can update: ${doc.errors[0]!.message.split('\n')[0]}`, {
      code: 'DBT_SOURCES',
      location: { file: input.file },
      hint: 'fix the file, or write to a new one with --out',
    });
  if (!isMap(doc.contents)) doc.contents = doc.createNode({ version: 2 }) as never;
  if (!doc.has('version')) doc.set('version', 2);
  let sources = doc.get('sources');
  if (!isSeq(sources)) {
    sources = new YAMLSeq();
    doc.set('sources', sources);
  }
  for (const schema of input.schemas) {
    const name = input.sourceName(schema);
    const source = entry(sources as YAMLSeq, name, () =>
      doc.createNode({ name, ...(input.database ? { database: input.database } : {}), schema, tables: [] }),
    );
    if (input.database) source.set('database', input.database);
    source.set('schema', schema);
    writeTables(doc, source, relationsOf(input.model, schema));
  }
  return doc.toString({ lineWidth: 0 });
}

interface Relation {
  name: string;
  comment: string | null;
  columns: { name: string; type: string; comment: string | null }[];
}

function relationsOf(model: SchemaModel, schema: string): Relation[] {
  const comment = (kind: string, name: string, column?: string) =>
    model.comments.find(
      (c) => c.target.schema === schema && c.target.name === name && c.column === column && !c.constraint,
    )?.text ?? null;
  const tables = model.tables.filter((t) => t.key.schema === schema);
  const views = model.views.filter((v) => v.key.schema === schema);
  return [...tables, ...views]
    .map((r) => ({
      name: r.key.name,
      comment: comment(r.key.kind, r.key.name),
      columns: r.columns.map((c) => ({ name: c.name, type: c.type, comment: comment(r.key.kind, r.key.name, c.name) })),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function writeTables(doc: Document, source: YAMLMap, relations: Relation[]): void {
  let tables = source.get('tables');
  if (!isSeq(tables)) {
    tables = new YAMLSeq();
    source.set('tables', tables);
  }
  const seq = tables as YAMLSeq;
  for (const r of relations) {
    const table = entry(seq, r.name, () =>
      doc.createNode({ name: r.name, ...(r.comment ? { description: r.comment } : {}), columns: [] }),
    );
    describe(table, r.comment);
    let columns = table.get('columns');
    if (!isSeq(columns)) {
      columns = new YAMLSeq();
      table.set('columns', columns);
    }
    for (const c of r.columns) {
      const column = entry(columns as YAMLSeq, c.name, () =>
        doc.createNode({ name: c.name, data_type: c.type, ...(c.comment ? { description: c.comment } : {}) }),
      );
      column.set('data_type', c.type);
      describe(column, c.comment);
    }
    prune(columns as YAMLSeq, new Set(r.columns.map((c) => c.name.toLowerCase())));
  }
  prune(seq, new Set(relations.map((r) => r.name.toLowerCase())));
}

/** The map item of `seq` whose `name` is `name` (without case), appended by `make` when there is none. */
function entry(seq: YAMLSeq, name: string, make: () => unknown): YAMLMap {
  const found = seq.items.find((i) => isMap(i) && String(i.get('name')).toLowerCase() === name.toLowerCase());
  if (found) return found as YAMLMap;
  const made = make() as YAMLMap;
  seq.items.push(made);
  return made;
}

/** A description from the schema's comment, where a person wrote none. */
function describe(node: YAMLMap, comment: string | null): void {
  const current = node.get('description');
  if (comment && (current === undefined || current === null || current === '')) node.set('description', comment);
}

/** Entries the schema no longer has, removed when they hold only what dbee writes. */
function prune(seq: YAMLSeq, keep: ReadonlySet<string>): void {
  seq.items = seq.items.filter((i) => !isMap(i) || keep.has(String(i.get('name')).toLowerCase()) || !onlyOwned(i));
}

/** A map whose keys (and its lists' maps' keys) are all keys dbee writes. */
function onlyOwned(node: unknown): boolean {
  if (!isMap(node)) return false;
  return node.items.every((pair) => {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    return OWNED.has(key) && (!isSeq(pair.value) || pair.value.items.every(onlyOwned));
  });
}

/**
 * A staging model over a source table: `select` of every column, quoted the way PostgreSQL (and dbt's adapter)
 * needs (`"Order Id"`), from `{{ source(...) }}`.
 */
export function stagingModel(source: string, table: string, columns: readonly string[]): string {
  const quote = (c: string) => (/^[a-z_][a-z0-9_$]*$/.test(c) && !RESERVED.has(c) ? c : `"${c.replace(/"/g, '""')}"`);
  return `-- Staging model over ${source}.${table}, written by dbee dbt-sources (edit freely: it is not written again).\nselect\n${columns.map((c) => `    ${quote(c)}`).join(',\n')}\nfrom {{ source('${source}', '${table}') }}\n`;
}

/** Words PostgreSQL reserves as column names (a subset that covers what a table tends to name a column). */
const RESERVED = new Set([
  'all',
  'and',
  'any',
  'as',
  'asc',
  'case',
  'check',
  'column',
  'constraint',
  'create',
  'default',
  'desc',
  'distinct',
  'do',
  'else',
  'end',
  'for',
  'from',
  'group',
  'having',
  'in',
  'limit',
  'not',
  'null',
  'offset',
  'on',
  'or',
  'order',
  'select',
  'table',
  'then',
  'to',
  'user',
  'when',
  'where',
  'with',
]);
