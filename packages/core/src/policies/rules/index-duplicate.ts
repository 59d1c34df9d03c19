import { z } from 'zod';
import type { ObjectKey } from '../../model/object-key';
import type { PolicyRule, RawFinding } from '../rule';
import { indexColumns, qualified } from './shared';

/** No index whose columns are a prefix of another index or key of the same table (it only costs writes). */
export const indexDuplicate: PolicyRule<Record<string, never>> = {
  name: 'index-duplicate',
  category: 'indexes',
  summary: 'No index duplicates, or is a leading part of, another index or key of its table.',
  why: 'A redundant index costs every write and its space, and the planner uses the wider one anyway.',
  bytebase: 'table.no-duplicate-index',
  defaultLevel: 'warning',
  engines: ['postgres'],
  params: z.strictObject({}),
  examples: {
    forbid:
      'CREATE TABLE app.t (id bigint PRIMARY KEY, a int, b int);\nCREATE INDEX t_a_b ON app.t (a, b);\nCREATE INDEX t_a ON app.t (a);',
    allow:
      'CREATE TABLE app.t (id bigint PRIMARY KEY, a int, b int);\nCREATE INDEX t_a_b ON app.t (a, b);\nCREATE INDEX t_b ON app.t (b);',
  },
  check(subject) {
    const findings: RawFinding[] = [];
    for (const index of subject.indexes()) {
      const cols = indexColumns(index);
      if (!cols || index.predicate || index.unique) continue;
      const table: ObjectKey = index.table;
      const method = /USING (\w+)/.exec(index.definition)?.[1];
      const wider = [
        ...subject
          .indexesOf(table)
          .filter(
            (o) => o.key.name !== index.key.name && !o.predicate && /USING (\w+)/.exec(o.definition)?.[1] === method,
          )
          .map((o) => ({ name: o.key.name, cols: indexColumns(o) })),
        ...(subject.table(table)?.constraints ?? [])
          .filter((c) => (c.kind === 'primary-key' || c.kind === 'unique') && method === 'btree')
          .map((c) => ({ name: c.name, cols: c.columns })),
      ].find((o) => o.cols && o.cols.length >= cols.length && cols.every((c, i) => o.cols![i] === c));
      if (wider)
        findings.push({
          object: table,
          near: index.key.name,
          message: `index ${index.key.name} on ${qualified(table)} (${cols.join(', ')}) is covered by ${wider.name}: drop it`,
        });
    }
    return findings;
  },
};
