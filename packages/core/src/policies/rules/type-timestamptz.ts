import { columnRule } from './column-type';
import { baseType } from './shared';

/** No `timestamp without time zone` columns. */
export const typeTimestamptz = columnRule({
  name: 'type-timestamptz',
  summary: 'Timestamps are `timestamp with time zone`.',
  why: 'A timestamp without time zone is a wall-clock reading: it means another instant in every time zone and across DST changes.',
  defaultLevel: 'warning',
  engines: ['postgres'],
  examples: {
    forbid: 'CREATE TABLE app.events (id bigint PRIMARY KEY, at timestamp);',
    allow: 'CREATE TABLE app.events (id bigint PRIMARY KEY, at timestamptz);',
  },
  judge: (c) =>
    baseType(c.type) === 'timestamp without time zone' ? 'timestamp without time zone: use timestamptz' : null,
});
