import { z } from 'zod';
import type { PolicyLevel, PolicyRule, RawFinding } from '../rule';
import { codeOnly } from '../sql-text';

/** A rule about each statement of the judged migrations: the migration rules are this shape. */
export function statementRule(spec: {
  name: string;
  summary: string;
  why: string;
  bytebase?: string;
  defaultLevel: PolicyLevel;
  engines: PolicyRule['engines'];
  examples: { forbid: string; allow: string };
  /** The finding's message for a statement (its text with strings and comments blanked) that breaks the rule, or null. */
  judge(code: string): string | null;
}): PolicyRule<Record<string, never>> {
  return {
    name: spec.name,
    category: 'migrations',
    summary: spec.summary,
    why: spec.why,
    bytebase: spec.bytebase,
    defaultLevel: spec.defaultLevel,
    engines: spec.engines,
    params: z.strictObject({}),
    examples: { ...spec.examples, migration: true },
    check(subject) {
      return subject.migrations.flatMap((m) =>
        m.statements.flatMap((st): RawFinding[] => {
          const message = spec.judge(codeOnly(st.sql).trim());
          return message ? [{ object: null, location: st.location, message: `${m.file}: ${message}` }] : [];
        }),
      );
    },
  };
}
