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
}

/** A parsed statement together with its template text. */
export interface SourceStatement extends ParsedStatement {
  template: string;
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
      if (creates) object.statements.unshift(toObjectStatement(st));
      else object.statements.push(toObjectStatement(st));
      object.references.push(...st.references);
      object.deferrable.push(...(st.deferrable ?? []));
      previous = object;
    }
  }
  if (errors.length === 1) throw errors[0]!;
  if (errors.length > 1)
    throw new DbeeAggregateError(`${errors.length} problems grouping the statements of project ${project}`, errors);
  // A statement on an index that names no table (PostgreSQL's ALTER INDEX, COMMENT ON INDEX) belongs to the index of
  // that name the project creates: it runs after it, with its references (ALTER INDEX ... ATTACH PARTITION).
  for (const [id, o] of byId) {
    if (o.key.kind !== 'index' || o.key.parent) continue;
    const owner = [...byId.values()].find(
      (x) => x.key.kind === 'index' && x.key.parent && x.key.schema === o.key.schema && x.key.name === o.key.name,
    );
    if (!owner) continue;
    owner.statements.push(...o.statements);
    owner.references.push(...o.references);
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

function toObjectStatement(st: SourceStatement): ObjectStatement {
  return {
    template: st.template,
    sql: st.sql,
    location: st.location,
    action: st.action,
    transactional: st.transactional,
  };
}
