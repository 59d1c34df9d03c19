import { DbeeAggregateError, DbeeError } from '../errors';
import { formatKey, type ObjectKey } from '../model/object-key';
import type {
  DeferrableConstraint,
  ParsedStatement,
  Reference,
  SourceLocation,
  StatementAction,
} from '../model/source';

/** One statement of an object: the text to run (template, with `{{placeholders}}`) and what the parser saw. */
export interface ObjectStatement {
  /** Source text with placeholders: what plans and packages store. */
  template: string;
  /** Expanded text for the planning environment. */
  sql: string;
  location: SourceLocation;
  action: StatementAction;
  transactional: boolean;
}

/** A database object as the sources define it: all its statements, wherever they are, in file order. */
export interface SourceObject {
  key: ObjectKey;
  /** `formatKey(key)`. */
  id: string;
  project: string;
  statements: ObjectStatement[];
  references: Reference[];
  deferrable: DeferrableConstraint[];
  /** Where it is created (its first create statement, else its first statement). */
  location: SourceLocation;
  /** A table's: the sequences its serial columns make (`<table>_<column>_seq`), in its schema. Absent: none. */
  serials?: string[];
}

/** A parsed statement together with its template text. */
export interface SourceStatement extends ParsedStatement {
  template: string;
}

/**
 * The indexes created on a table, by `schema.name` (the first of a name): a look-up per statement on an index, not a
 * scan of every object (a dump's thousands of COMMENT ON INDEX statements scanned them all, each).
 */
function indexesByName(byId: ReadonlyMap<string, SourceObject>): Map<string, SourceObject> {
  const indexes = new Map<string, SourceObject>();
  for (const x of byId.values()) {
    const name = `${x.key.schema}.${x.key.name}`;
    if (x.key.kind === 'index' && x.key.parent && !indexes.has(name)) indexes.set(name, x);
  }
  return indexes;
}

/**
 * Group a project's statements by object. Statements that define nothing (`INSERT`, `SET`...) belong to the object
 * defined just before them in the same file. An object created in two places is an error naming both.
 */
export function groupObjects(
  project: string,
  files: ReadonlyArray<{ path: string; statements: SourceStatement[] }>,
): SourceObject[] {
  const byId = new Map<string, SourceObject>();
  const errors: DbeeError[] = [];
  const statementReferences = new Map<ObjectStatement, Reference[]>();
  /** `schema.index` → the table whose constraint makes that index. */
  const constraintIndexes = new Map<string, SourceObject>();
  /** `schema.sequence` → the table whose serial column makes that sequence. */
  const serials = new Map<string, SourceObject>();
  for (const file of files) {
    let previous: SourceObject | undefined;
    for (const st of file.statements) {
      if (!st.key) {
        if (!previous) {
          errors.push(
            new DbeeError('this statement defines no database object and follows none', {
              code: 'STATEMENT_ORPHAN',
              location: st.location,
              hint: 'object files hold definitions; put data changes and one-off scripts in a versioned migration (migrations/V<version>__<description>.sql)',
            }),
          );
          continue;
        }
        previous.statements.push(toObjectStatement(st));
        previous.references.push(...st.references);
        continue;
      }
      const id = formatKey(st.key);
      let object = byId.get(id);
      const creates = st.action === 'create' || st.action === 'create-or-replace';
      if (
        object &&
        creates &&
        object.statements.some((s) => s.action === 'create' || s.action === 'create-or-replace')
      ) {
        errors.push(
          new DbeeError(`${id} is defined twice: here and at ${object.location.file}:${object.location.line}`, {
            code: 'OBJECT_DUPLICATE',
            location: st.location,
            hint: 'keep one definition of each object',
          }),
        );
        continue;
      }
      if (!object) {
        object = { key: st.key, id, project, statements: [], references: [], deferrable: [], location: st.location };
        byId.set(id, object);
      } else if (creates) {
        object.location = st.location;
      }
      // The defining statement goes first, whatever file order put comments or grants before it.
      const statement = toObjectStatement(st);
      statementReferences.set(statement, st.references);
      if (creates) object.statements.unshift(statement);
      else object.statements.push(statement);
      object.references.push(...st.references);
      object.deferrable.push(...(st.deferrable ?? []));
      if (object.key.kind === 'table')
        for (const name of st.constraintIndexes ?? []) constraintIndexes.set(`${object.key.schema}.${name}`, object);
      if (object.key.kind === 'table' && st.serialSequences?.length) {
        for (const name of st.serialSequences) serials.set(`${object.key.schema}.${name}`, object);
        object.serials = [...(object.serials ?? []), ...st.serialSequences];
      }
      previous = object;
    }
  }
  if (errors.length === 1) throw errors[0]!;
  if (errors.length > 1)
    throw new DbeeAggregateError(`${errors.length} problems grouping the statements of project ${project}`, errors);
  mergeRelationAliases(byId);
  mergeSerialSequences(byId, serials);
  moveOwnedByOutOfCycles(byId, statementReferences);
  // A statement on an index that names no table (PostgreSQL's ALTER INDEX, COMMENT ON INDEX) belongs to the index of
  // that name the project creates: it runs after it, with its references (ALTER INDEX ... ATTACH PARTITION).
  const createdIndexes = indexesByName(byId);
  const ownerOf = (name: string) =>
    createdIndexes.get(name) ??
    constraintIndexes.get(name) ??
    [...byId.values()].find((x) => x.key.kind === 'constraint' && `${x.key.schema}.${x.key.name}` === name);
  for (const [id, o] of byId) {
    if (o.key.kind !== 'index' || o.key.parent) continue;
    // Or, when no index of that name is created, to the table whose constraint makes the index (a primary key).
    const parent = ownerOf(`${o.key.schema}.${o.key.name}`);
    // ALTER INDEX parent ATTACH PARTITION child, where the child's index (or its constraint) comes after the parent's
    // table already (a partition made PARTITION OF it): the child's, with the parent's `ALTER TABLE ONLY ... ADD
    // CONSTRAINT` before it, so that the partition exists before the parent's key (PostgreSQL would give a partition
    // made after it a key of its own). Given to the parent's, the parent's table would need its own partition (a cycle
    // PostgreSQL does not have).
    const child = o.references.find((r) => r.kind === 'object' && r.via === 'partition index');
    const found = child ? ownerOf(`${child.schema ?? o.key.schema}.${child.name}`) : undefined;
    const attached = found && parent && found !== parent && reaches(byId, found, parent) ? found : undefined;
    const owner = attached ?? parent;
    if (!owner) continue;
    if (attached && parent) attached.statements.push(...takeOnlyKey(parent, o.key.name));
    owner.statements.push(...o.statements);
    // An index named in the statement that is a constraint's index needs that constraint's table.
    for (const r of o.references) {
      if (r === child && attached) continue;
      const table = r.kind === 'object' ? constraintIndexes.get(`${r.schema ?? o.key.schema}.${r.name}`) : undefined;
      owner.references.push(
        table ? { ...r, kind: 'relation', schema: table.key.schema, name: table.key.name, via: 'constraint index' } : r,
      );
    }
    owner.deferrable.push(...o.deferrable);
    byId.delete(id);
  }
  // A constraint made from an index (PostgreSQL's ADD CONSTRAINT ... USING INDEX, reference `via: 'using index'`)
  // renames the index to the constraint's name: the index is no object of its own after it, so its statements become
  // the constraint's first ones.
  for (const o of byId.values()) {
    if (o.key.kind !== 'constraint') continue;
    const via = o.references.find((r) => r.via === 'using index');
    if (!via) continue;
    const [id, index] =
      [...byId].find(
        ([, x]) => x.key.kind === 'index' && x.key.schema === (via.schema ?? o.key.schema) && x.key.name === via.name,
      ) ?? [];
    if (!id || !index) continue;
    o.statements.unshift(...index.statements);
    o.references.push(...index.references);
    o.references.splice(o.references.indexOf(via), 1);
    byId.delete(id);
  }
  return [...byId.values()];
}

/** Whether `from` needs `to`, following references by name (any kind) through the project's objects. */
function reaches(byId: ReadonlyMap<string, SourceObject>, from: SourceObject, to: SourceObject): boolean {
  const byName = new Map<string, SourceObject[]>();
  for (const x of byId.values()) {
    const name = `${x.key.schema}.${x.key.name}`;
    byName.set(name, [...(byName.get(name) ?? []), x]);
  }
  const seen = new Set<SourceObject>();
  const stack = [from];
  while (stack.length) {
    const x = stack.pop()!;
    if (x === to) return true;
    if (seen.has(x)) continue;
    seen.add(x);
    for (const r of x.references) stack.push(...(byName.get(`${r.schema ?? x.key.schema}.${r.name}`) ?? []));
  }
  return false;
}

/** The `ALTER TABLE ONLY ... ADD CONSTRAINT <name>` statements of `table`, taken out of it. */
function takeOnlyKey(table: SourceObject, name: string): ObjectStatement[] {
  const quoted = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(
    `^\\s*ALTER\\s+TABLE\\s+(IF\\s+EXISTS\\s+)?ONLY\\s[^;]*\\bADD\\s+CONSTRAINT\\s+"?${quoted}"?\\s`,
    'i',
  );
  const taken = table.statements.filter((s) => re.test(s.sql));
  table.statements = table.statements.filter((s) => !taken.includes(s));
  return taken;
}

/** Kinds PostgreSQL's `ALTER TABLE` (and `GRANT ... ON TABLE`) also acts on. */
const TABLE_ALIASES: ReadonlySet<ObjectKey['kind']> = new Set(['view', 'materialized-view', 'sequence']);

/**
 * `ALTER TABLE v OWNER TO ...` on a view, materialized view or sequence (what `pg_dump` prints for them), and `GRANT
 * ... ON TABLE v`, name it as a table: a table the sources never create but that the project creates as one of those
 * kinds is that object, not a table of its own (a phantom table the ledger would record and the smoke baseline look
 * for). Its statements become the object's last ones.
 */
function mergeRelationAliases(byId: Map<string, SourceObject>): void {
  const relations = new Map<string, SourceObject>();
  for (const o of byId.values())
    if (TABLE_ALIASES.has(o.key.kind) && o.statements.some(isCreate)) relations.set(`${o.key.schema}.${o.key.name}`, o);
  if (!relations.size) return;
  for (const [id, o] of byId) {
    if (o.key.kind !== 'table' || o.statements.some(isCreate)) continue;
    const owner = relations.get(`${o.key.schema}.${o.key.name}`);
    if (!owner) continue;
    absorb(owner, o, byId, id);
  }
}

/**
 * Statements on a sequence the sources never create, which a serial column of a table they create makes (`ALTER
 * SEQUENCE t_id_seq CACHE 20`, `COMMENT ON SEQUENCE`, `GRANT ... ON SEQUENCE`): the table's last statements, not a
 * sequence of its own (which the ledger would record as new, and a database the serial made it on would refuse).
 */
function mergeSerialSequences(byId: Map<string, SourceObject>, serials: ReadonlyMap<string, SourceObject>): void {
  if (!serials.size) return;
  for (const [id, o] of byId) {
    if (o.key.kind !== 'sequence' || o.statements.some(isCreate)) continue;
    const table = serials.get(`${o.key.schema}.${o.key.name}`);
    if (!table) continue;
    absorb(table, o, byId, id);
  }
}

/** `o`'s statements, references and deferrable constraints become `owner`'s last ones; `o` is no object of its own. */
function absorb(owner: SourceObject, o: SourceObject, byId: Map<string, SourceObject>, id: string): void {
  owner.statements.push(...o.statements);
  owner.references.push(...o.references);
  owner.deferrable.push(...o.deferrable);
  byId.delete(id);
}

/**
 * A sequence's own `ALTER SEQUENCE s OWNED BY t.c` needs table `t`, and a table whose default calls `nextval('s')`
 * needs the sequence: `pg_dump` prints every serial column so (CREATE TABLE, CREATE SEQUENCE, ALTER SEQUENCE ... OWNED
 * BY, then ALTER TABLE ... SET DEFAULT nextval), a cycle between the two objects. The `OWNED BY` statement then
 * belongs to the table (it runs after the table's statements), and the sequence no longer needs the table. Only in
 * that cycle, which could not be planned before: objects deployed already keep their statements and checksums.
 */
function moveOwnedByOutOfCycles(
  byId: Map<string, SourceObject>,
  statementReferences: Map<ObjectStatement, Reference[]>,
): void {
  for (const sequence of byId.values()) {
    if (sequence.key.kind !== 'sequence') continue;
    for (const statement of [...sequence.statements]) {
      if (isCreate(statement)) continue;
      const refs = statementReferences.get(statement) ?? [];
      const ownedBy = refs.find((r) => r.via === 'owned by');
      if (!ownedBy) continue;
      const table = byId.get(
        formatKey({ kind: 'table', schema: ownedBy.schema ?? sequence.key.schema, name: ownedBy.name }),
      );
      const usesSequence = table?.references.some(
        (r) =>
          (r.kind === 'sequence' || r.kind === 'relation' || r.kind === 'object') &&
          r.name === sequence.key.name &&
          (r.schema ?? table.key.schema) === sequence.key.schema,
      );
      if (!table || !usesSequence) continue;
      sequence.statements.splice(sequence.statements.indexOf(statement), 1);
      for (const r of refs) {
        const i = sequence.references.indexOf(r);
        if (i >= 0) sequence.references.splice(i, 1);
      }
      table.statements.push(statement);
      table.references.push(...refs.filter((r) => r !== ownedBy));
    }
  }
}

function isCreate(s: ObjectStatement): boolean {
  return s.action === 'create' || s.action === 'create-or-replace';
}

function toObjectStatement(st: SourceStatement): ObjectStatement {
  return {
    template: st.template,
    sql: st.sql,
    location: st.location,
    action: st.action,
    transactional: st.transactional,
  };
}
