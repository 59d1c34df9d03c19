import { z } from 'zod';
import type { PolicyRule } from '../rule';
import { qualified } from './shared';

/** Routines are written in one of the listed languages. */
export const routineLanguage: PolicyRule<{ languages: string[] }> = {
  name: 'routine-language',
  category: 'routines',
  summary: 'Functions and procedures use one of the listed languages (default sql and plpgsql).',
  why: "An untrusted language (plpython3u, plperlu) runs with the server's operating-system rights; a team allows one on purpose.",
  defaultLevel: 'warning',
  engines: ['postgres'],
  params: z.strictObject({ languages: z.array(z.string().min(1)).default(['sql', 'plpgsql']) }),
  examples: {
    params: { languages: ['sql'] },
    forbid: 'CREATE FUNCTION app.f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;',
    allow: 'CREATE FUNCTION app.f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;',
  },
  check(subject, params) {
    return subject
      .routines()
      .filter((r) => !params.languages.includes(r.language))
      .map((r) => ({
        object: r.key,
        message: `${r.key.kind} ${qualified(r.key)} is written in ${r.language}, not one of ${params.languages.join(', ')}`,
      }));
  },
};
