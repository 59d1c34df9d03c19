import { of as make, sameButName, tk } from './classification';
import type { ExpandRule } from './rule';

/**
 * A CHECK, foreign key or unique constraint added: `NOT VALID` (or its unique index built concurrently) at expand,
 * validated (or made from its index) at complete, dropped by abort. On a table the release creates (its foreign keys,
 * and what its source declares `NOT VALID`, come apart from its CREATE TABLE): made at expand once every new table
 * exists, valid at once (the new table is empty and the old version never writes it), so the new version's writes are
 * checked from the start; abort drops it with its table.
 */
export const addConstraint: ExpandRule<'add-constraint'> = {
  validate(c, s) {
    const key = tk(c.table.schema, c.table.name);
    const k = c.constraint.kind;
    if (s.created.has(key) || k === 'check' || k === 'foreign-key' || k === 'unique') return;
    // A renamed constraint is a rename.
    if ((s.droppedConstraints.get(key) ?? []).some((d) => sameButName(d, c.constraint))) return;
    s.refuse(
      `${c.table.schema}.${c.table.name}: adding a ${k} constraint (${c.constraint.name}) is not supported by the expand-contract strategy`,
      'deploy this change with the direct strategy first',
    );
  },
  plan(c, s) {
    const key = tk(c.table.schema, c.table.name);
    const { name, kind, columns, definition, attrs } = c.constraint;
    if (kind !== 'check' && kind !== 'foreign-key' && kind !== 'unique') return;
    if (s.created.has(key))
      make(s.createdConstraints, key, () => []).push({
        name,
        kind,
        columns,
        definition,
        ...(attrs['notValid'] === true ? { notValid: true } : {}),
      });
    else if (!(s.droppedConstraints.get(key) ?? []).some((d) => sameButName(d, c.constraint))) {
      make(s.addedConstraints, key, () => []).push({ name, kind, columns, definition });
      s.summary.push(`add ${kind} constraint ${name} on ${c.table.schema}.${c.table.name}`);
    }
  },
  expand({ table, constraint }, sql) {
    if (table.created) return { references: [sql.addToCreated(table, constraint)] };
    return {
      constraints: [
        constraint.kind === 'unique' ? sql.buildUniqueIndex(table, constraint) : sql.addNotValid(table, constraint),
      ],
    };
  },
  complete({ table, constraint }, sql) {
    if (constraint.kind === 'unique') return { uniqueFromIndex: [sql.uniqueFromIndex(table, constraint)] };
    return table.created ? {} : { validateConstraints: [sql.validate(table, constraint)] };
  },
  abort({ table, constraint }, sql) {
    if (table.created) return {};
    return {
      dropConstraints: [
        constraint.kind === 'unique' ? sql.dropUniqueIndex(table, constraint) : sql.drop(table, constraint),
      ],
    };
  },
  completes(c, of) {
    const f = of(c.table);
    const k = f?.t.constraints.find((k) => k.name === c.constraint.name && k.definition === c.constraint.definition);
    const there =
      k?.kind === 'unique'
        ? f!.model.indexes.some((i) => i.key.name === k.name && i.table.name === f!.t.name)
        : f?.live.constraints.some((x) => x.name === k?.name);
    return !!(k && there) || !!f?.t.renamedConstraints?.some((r) => r.to === c.constraint.name);
  },
};
