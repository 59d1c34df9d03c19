import { columnRule } from './column-type';

/** Defaults that are constants or now(): no random(), clock_timestamp() or other volatile calls. */
export const columnNoVolatileDefault = columnRule({
  name: 'column-no-volatile-default',
  category: 'columns',
  summary:
    'Column defaults call no volatile function (random(), clock_timestamp(), gen_random_uuid()...), sequences aside.',
  why: 'Adding a column with a volatile default rewrites the whole table under an exclusive lock; a constant default does not.',
  bytebase: 'column.default-disallow-volatile',
  defaultLevel: 'off',
  engines: ['postgres'],
  examples: {
    forbid: 'CREATE TABLE app.t (id bigint PRIMARY KEY, r double precision DEFAULT random());',
    allow: 'CREATE TABLE app.t (id bigint PRIMARY KEY, r double precision DEFAULT 0);',
  },
  judge: (c) =>
    c.default !== null && /\b(random|clock_timestamp|timeofday|gen_random_uuid|uuid_generate_v4)\s*\(/i.test(c.default)
      ? `default ${c.default} is volatile (adding such a column rewrites the table): set it from the application or a trigger`
      : null,
});
