import { commentRule } from './comment-required';

/** Every view and materialized view has a comment. */
export const viewComment = commentRule({
  name: 'view-comment',
  what: 'view',
  defaultLevel: 'off',
  engines: ['postgres'],
  objects: (s) => s.views().map((v) => v.key),
  examples: {
    forbid: 'CREATE VIEW app.v AS SELECT 1 AS one;',
    allow: "CREATE VIEW app.v AS SELECT 1 AS one;\nCOMMENT ON VIEW app.v IS 'what it shows';",
  },
});
