import { z } from 'zod';
import type { ObjectKey } from '../../model/object-key';
import type { PolicyLevel, PolicyRule } from '../rule';
import type { PolicySubject } from '../subject';
import { fillTemplate, qualified, templateRegExp } from './shared';

/** One named thing of a table a template judges: its name, table and columns (null for expression keys). */
export interface Templated {
  object: ObjectKey;
  name: string;
  table: string;
  columns: readonly string[] | null;
}

/** A rule that a name follows a template of `{table}` and `{columns}`: indexes, keys, foreign keys. */
export function templateRule(spec: {
  name: string;
  what: string;
  template: string;
  bytebase?: string;
  defaultLevel: PolicyLevel;
  engines: PolicyRule['engines'];
  examples: PolicyRule['examples'];
  names(subject: PolicySubject): Templated[];
}): PolicyRule<{ template: string }> {
  return {
    name: spec.name,
    category: 'naming',
    summary: `${spec.what} names follow a template of {table} and {columns} (default \`${spec.template}\`).`,
    why: 'A name that says what it is on: the error that names it in production reads without a catalog query.',
    bytebase: spec.bytebase,
    defaultLevel: spec.defaultLevel,
    engines: spec.engines,
    params: z.strictObject({
      template: z
        .string()
        .min(1)
        .refine((t) => t.includes('{table}') || t.includes('{columns}'), 'a template uses {table} and/or {columns}')
        .default(spec.template),
    }),
    examples: spec.examples,
    check(subject, params) {
      return spec
        .names(subject)
        .filter((n) => !templateRegExp(params.template, n.table, n.columns).test(n.name))
        .map((n) => ({
          object: n.object,
          near: n.name,
          message: `${spec.what.toLowerCase()} "${n.name}" on ${qualified(n.object)} does not follow ${params.template}: name it ${fillTemplate(params.template, n.table, n.columns)}`,
        }));
    },
  };
}
