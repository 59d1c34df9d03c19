import { z } from 'zod';
import type { PolicyRule } from '../rule';
import { qualified } from './shared';

/** A SECURITY DEFINER routine sets its own search_path. */
export const securityDefinerSearchPath: PolicyRule<Record<string, never>> = {
  name: 'security-definer-search-path',
  category: 'security',
  summary: 'A SECURITY DEFINER function or procedure sets search_path (`SET search_path = ...`).',
  why: 'Otherwise a caller can put a schema of their own first and have the owner\'s privileges run their objects (PostgreSQL documentation, "Writing SECURITY DEFINER Functions Safely").',
  defaultLevel: 'error',
  engines: ['postgres'],
  params: z.strictObject({}),
  examples: {
    forbid: 'CREATE FUNCTION app.f() RETURNS int LANGUAGE sql SECURITY DEFINER AS $$ SELECT 1 $$;',
    allow:
      'CREATE FUNCTION app.f() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$ SELECT 1 $$;',
  },
  check(subject) {
    return subject
      .routines()
      .filter(
        (r) => /\bSECURITY DEFINER\b/.test(header(r.definition)) && !/\bSET search_path\b/i.test(header(r.definition)),
      )
      .map((r) => ({
        object: r.key,
        message: `${r.key.kind} ${qualified(r.key)} is SECURITY DEFINER without SET search_path: add SET search_path with the schemas it uses and pg_temp last (and qualify names)`,
      }));
  },
};

/** The routine's definition before its body (`pg_get_functiondef` prints the options first, then `AS`). */
function header(definition: string): string {
  const body = definition.search(/\bAS\s+(\$|')|\bBEGIN\s+ATOMIC\b/i);
  return body < 0 ? definition : definition.slice(0, body);
}
