import { commentRule } from './comment-required';

/** Every table has a comment. */
export const tableComment = commentRule({
  name: 'table-comment',
  what: 'table',
  bytebase: 'table.comment',
  defaultLevel: 'off',
  engines: ['postgres'],
  objects: (s) => s.tables().map((t) => t.key),
  examples: {
    forbid: 'CREATE TABLE app.t (id bigint PRIMARY KEY);',
    allow: "CREATE TABLE app.t (id bigint PRIMARY KEY);\nCOMMENT ON TABLE app.t IS 'what a row is';",
  },
});
