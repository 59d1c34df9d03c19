import { namePatternRule } from './naming-pattern';

/** Function and procedure names match a pattern (default snake_case). */
export const namingRoutine = namePatternRule({
  name: 'naming-routine',
  what: 'Function',
  defaultLevel: 'warning',
  engines: ['postgres'],
  names: (s) => s.routines().map((r) => ({ object: r.key, name: r.key.name })),
  examples: {
    forbid: 'CREATE FUNCTION app."TotalOf"(a integer) RETURNS integer LANGUAGE sql AS $$ SELECT a $$;',
    allow: 'CREATE FUNCTION app.total_of(a integer) RETURNS integer LANGUAGE sql AS $$ SELECT a $$;',
  },
});
