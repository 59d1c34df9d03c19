import { columnRule } from './column-type';

/** Every column has a comment. */
export const columnComment = columnRule({
  name: 'column-comment',
  category: 'comments',
  summary: 'Every column has a comment.',
  why: 'The catalog is the one documentation every tool shows (psql \\d+, BI tools, dbt docs).',
  bytebase: 'column.comment',
  defaultLevel: 'off',
  engines: ['postgres'],
  examples: {
    forbid: 'CREATE TABLE app.t (id bigint PRIMARY KEY);',
    allow: "CREATE TABLE app.t (id bigint PRIMARY KEY);\nCOMMENT ON COLUMN app.t.id IS 'the key';",
  },
  judge: (c, t, s) =>
    s.model.comments.some(
      (k) => k.target.schema === t.key.schema && k.target.name === t.key.name && k.column === c.name,
    )
      ? null
      : 'no comment: COMMENT ON COLUMN',
});
