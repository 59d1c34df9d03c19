import { columnRule } from './column-type';
import { baseType } from './shared';

/** No `time with time zone` columns. */
export const typeNoTimetz = columnRule({
  name: 'type-no-timetz',
  summary: 'No column is `time with time zone`.',
  why: 'A time of day with an offset cannot follow daylight saving; PostgreSQL keeps the type for the standard only.',
  defaultLevel: 'warning',
  engines: ['postgres'],
  examples: {
    forbid: 'CREATE TABLE app.shifts (id bigint PRIMARY KEY, starts timetz);',
    allow: 'CREATE TABLE app.shifts (id bigint PRIMARY KEY, starts time);',
  },
  judge: (c) => (baseType(c.type) === 'time with time zone' ? 'time with time zone: use timestamptz or time' : null),
});
