import { commentRule } from './comment-required';

/** Every function and procedure has a comment. */
export const routineComment = commentRule({
  name: 'routine-comment',
  what: 'function and procedure',
  defaultLevel: 'off',
  engines: ['postgres'],
  objects: (s) => s.routines().map((r) => r.key),
  examples: {
    forbid: 'CREATE FUNCTION app.one() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;',
    allow:
      "CREATE FUNCTION app.one() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\nCOMMENT ON FUNCTION app.one() IS 'one';",
  },
});
