import { z } from 'zod';
import type { PolicyRule } from '../rule';
import { codeOnly } from '../sql-text';
import { pattern } from './shared';

/** Statements a migration may not contain, as regular expressions over the statement (`^truncate\b`, `^drop table\b`). */
export const migrationBannedStatements: PolicyRule<{ patterns: string[] }> = {
  name: 'migration-banned-statements',
  category: 'migrations',
  summary:
    'No migration statement matches one of the listed patterns (case-insensitive, over the statement without comments and strings).',
  why: "A team's own list of statements that need another path (a ticket, a DBA): TRUNCATE, DROP TABLE, VACUUM FULL...",
  bytebase: 'statement.disallow-... (a list)',
  defaultLevel: 'off',
  engines: ['postgres', 'teradata'],
  params: z.strictObject({ patterns: z.array(pattern('.')).default([]) }),
  examples: {
    migration: true,
    params: { patterns: ['^truncate\\b'] },
    forbid: 'TRUNCATE app.t;',
    allow: 'DELETE FROM app.t WHERE id < 10;',
  },
  check(subject, params) {
    const res = params.patterns.map((p) => new RegExp(p, 'i'));
    return subject.migrations.flatMap((m) =>
      m.statements.flatMap((st) => {
        const code = codeOnly(st.sql).trim();
        const hit = res.find((re) => re.test(code));
        return hit
          ? [
              {
                object: null,
                location: st.location,
                message: `${m.file}: a statement this team does not allow in migrations (${hit.source})`,
              },
            ]
          : [];
      }),
    );
  },
};
