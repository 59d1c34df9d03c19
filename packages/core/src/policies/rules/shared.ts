import { z } from 'zod';
import type { ObjectKey } from '../../model/object-key';
import type { Constraint, Index, Table } from '../../schema/model';

/** `schema.name` of a key. */
export function qualified(key: ObjectKey): string {
  return key.schema ? `${key.schema}.${key.name}` : key.name;
}

/** A regular expression parameter, checked when the configuration is read. */
export const pattern = (fallback: string) =>
  z
    .string()
    .refine((p) => {
      try {
        new RegExp(p);
        return true;
      } catch {
        return false;
      }
    }, 'expected a regular expression (JavaScript syntax), e.g. "^[a-z][a-z0-9_]*$"')
    .default(fallback);

/** snake_case: lower-case letters, digits and `_`, not starting with a digit (`_helper` is a common private name). */
export const SNAKE_CASE = '^[a-z_][a-z0-9_]*$';

/**
 * A name template with `{table}` and `{columns}` (`_`-joined), e.g. `idx_{table}_{columns}`, as a regular expression
 * that the name must match in full. `{columns}` of an index on expressions matches anything.
 */
export function templateRegExp(template: string, table: string, columns: readonly string[] | null): RegExp {
  const quote = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const parts = template.split(/(\{table\}|\{columns\})/);
  const body = parts
    .map((p) => {
      if (p === '{table}') return quote(table);
      if (p === '{columns}') return columns ? quote(columns.join('_')) : '.+';
      return quote(p);
    })
    .join('');
  return new RegExp(`^${body}$`);
}

/** A template filled in, for the message: `idx_orders_customer_id`. */
export function fillTemplate(template: string, table: string, columns: readonly string[] | null): string {
  return template.replace('{table}', table).replace('{columns}', columns ? columns.join('_') : '<columns>');
}

/** The table's constraints of one kind. */
export function constraintsOf(table: Table, kind: Constraint['kind']): Constraint[] {
  return table.constraints.filter((c) => c.kind === kind);
}

/** Whether `index` starts with `columns` (in any order for the leading group): it serves a look-up by them. */
export function indexCovers(columns: readonly string[], leading: readonly string[]): boolean {
  if (leading.length < columns.length) return false;
  const head = new Set(leading.slice(0, columns.length));
  return columns.every((c) => head.has(c));
}

/** The plain key columns of an index, or null when a key is an expression (it cannot serve a look-up by columns). */
export function indexColumns(index: Index): string[] | null {
  return index.expression ? null : index.columns;
}

/** A column default that is a sequence's `nextval` (what `serial` writes). */
export function isSerialDefault(def: string | null): boolean {
  return def !== null && /^nextval\(/i.test(def);
}

/** The type of a column without its modifiers and array brackets, e.g. `character varying` for `character varying(20)[]`. */
export function baseType(type: string): string {
  return type
    .replace(/\[\]$/g, '')
    .replace(/\(.*\)/, '')
    .trim();
}
