import type { ObjectKey } from '../../model/object-key';
import type { PolicySubject } from '../subject';

/** Every name the subject defines, with the object it belongs to: tables, columns, constraints, views, routines, indexes. */
export function everyName(
  subject: PolicySubject,
): Array<{ object: ObjectKey; name: string; what: string; near?: string }> {
  return [
    ...subject
      .tables()
      .flatMap((t) => [
        { object: t.key, name: t.key.name, what: 'table' },
        ...t.columns.map((c) => ({ object: t.key, name: c.name, what: 'column', near: c.name })),
        ...t.constraints.map((c) => ({ object: t.key, name: c.name, what: 'constraint', near: c.name })),
      ]),
    ...subject
      .views()
      .flatMap((v) => [
        { object: v.key, name: v.key.name, what: v.key.kind === 'view' ? 'view' : 'materialized view' },
        ...v.columns.map((c) => ({ object: v.key, name: c.name, what: 'view column', near: c.name })),
      ]),
    ...subject.routines().map((r) => ({ object: r.key, name: r.key.name, what: r.key.kind })),
    ...subject.indexes().map((i) => ({ object: i.table, name: i.key.name, what: 'index', near: i.key.name })),
    ...subject.model.types
      .filter((t) => subject.judges(t.key))
      .map((t) => ({ object: t.key, name: t.key.name, what: t.key.kind })),
    ...subject.model.sequences
      .filter((s) => subject.judges(s.key))
      .map((s) => ({ object: s.key, name: s.key.name, what: 'sequence' })),
  ];
}
