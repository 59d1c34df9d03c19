import { z } from 'zod';
import type { PolicyRule } from '../rule';
import { codeOnly } from '../sql-text';

/** A migration that alters tables sets `lock_timeout` first. */
export const migrationLockTimeout: PolicyRule<Record<string, never>> = {
  name: 'migration-lock-timeout',
  category: 'migrations',
  summary: 'A migration that runs ALTER TABLE sets lock_timeout before it.',
  why: 'An ALTER TABLE that waits for its lock queues every query behind it; a lock timeout makes it fail instead (squawk: require-timeout-settings).',
  defaultLevel: 'off',
  engines: ['postgres'],
  params: z.strictObject({}),
  examples: {
    migration: true,
    forbid: 'ALTER TABLE app.t ADD COLUMN b int;',
    allow: "SET lock_timeout = '5s';\nALTER TABLE app.t ADD COLUMN b int;",
  },
  check(subject) {
    return subject.migrations.flatMap((m) => {
      const codes = m.statements.map((s) => codeOnly(s.sql).trim());
      const alter = codes.findIndex((c) => /^alter\s+table\b/i.test(c));
      if (alter < 0 || codes.slice(0, alter).some((c) => /^set\s+(local\s+)?lock_timeout\b/i.test(c))) return [];
      return [
        {
          object: null,
          location: m.statements[alter]!.location,
          message: `${m.file}: ALTER TABLE without a lock_timeout set before it: SET lock_timeout = '5s' first`,
        },
      ];
    });
  },
};
