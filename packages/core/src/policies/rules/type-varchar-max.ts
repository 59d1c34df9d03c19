import { z } from 'zod';
import type { PolicyRule } from '../rule';
import { baseType, qualified } from './shared';

/** varchar(n) no longer than `max`. */
export const typeVarcharMax: PolicyRule<{ max: number }> = {
  name: 'type-varchar-max',
  category: 'types',
  summary: 'varchar(n) has n at most `max` (default 1024); longer text is text.',
  why: 'A very long varchar limit checks nothing and reads like a constraint; text says what it is.',
  bytebase: 'column.maximum-varchar-length',
  defaultLevel: 'off',
  engines: ['postgres'],
  params: z.strictObject({ max: z.number().int().positive().default(1024) }),
  examples: {
    params: { max: 255 },
    forbid: 'CREATE TABLE app.t (id bigint PRIMARY KEY, note varchar(4000));',
    allow: 'CREATE TABLE app.t (id bigint PRIMARY KEY, note varchar(200));',
  },
  check(subject, params) {
    return subject.tables().flatMap((t) =>
      t.columns.flatMap((c) => {
        const n = /^character varying\((\d+)\)/.exec(c.type)?.[1];
        return baseType(c.type) === 'character varying' && n && Number(n) > params.max
          ? [
              {
                object: t.key,
                near: c.name,
                message: `${qualified(t.key)}.${c.name} is ${c.type}, over ${params.max}: use text (with a check if the length matters)`,
              },
            ]
          : [];
      }),
    );
  },
};
