import { z } from 'zod';
import type { PolicyRule } from '../rule';
import { constraintsOf, qualified } from './shared';

/** A foreign key's columns have the types of the columns they reference. */
export const foreignKeyType: PolicyRule<Record<string, never>> = {
  name: 'foreign-key-type',
  category: 'keys',
  summary: 'A foreign key column has the type of the column it references.',
  why: 'An integer column referencing a bigint key works until the keys pass 2^31; a cast on every join costs the index.',
  defaultLevel: 'warning',
  engines: ['postgres'],
  params: z.strictObject({}),
  examples: {
    forbid:
      'CREATE TABLE app.a (id bigint PRIMARY KEY);\nCREATE TABLE app.b (id bigint PRIMARY KEY, a_id integer REFERENCES app.a);',
    allow:
      'CREATE TABLE app.a (id bigint PRIMARY KEY);\nCREATE TABLE app.b (id bigint PRIMARY KEY, a_id bigint REFERENCES app.a);',
  },
  check(subject) {
    return subject.tables().flatMap((t) =>
      constraintsOf(t, 'foreign-key').flatMap((fk) => {
        const target = fk.references ? subject.table(fk.references.table) : undefined;
        if (!target || !fk.references) return [];
        return fk.columns.flatMap((name, i) => {
          const own = t.columns.find((c) => c.name === name)?.type;
          const theirs = target.columns.find((c) => c.name === fk.references!.columns[i])?.type;
          if (!own || !theirs || own === theirs) return [];
          return [
            {
              object: t.key,
              near: name,
              message: `${qualified(t.key)}.${name} is ${own} but references ${qualified(target.key)}.${fk.references!.columns[i]}, ${theirs}: make it ${theirs}`,
            },
          ];
        });
      }),
    );
  },
};
