import { z } from 'zod';
import type { PolicyRule } from '../rule';

/** Every migration has a rollback script. */
export const migrationRollback: PolicyRule<Record<string, never>> = {
  name: 'migration-rollback',
  category: 'migrations',
  summary:
    'Every migration has its rollback script (`migrations/V<n>__<name>.rollback.sql` beside it, docs/rollback.md).',
  why: 'A migration without one cannot be rolled back by dbee: the environment stays where it is until someone writes it under pressure.',
  defaultLevel: 'warning',
  engines: ['postgres', 'teradata'],
  params: z.strictObject({}),
  examples: {
    migration: true,
    forbid: 'UPDATE app.t SET a = 0 WHERE a IS NULL;',
    allow: 'UPDATE app.t SET a = 0 WHERE a IS NULL;',
  },
  check(subject) {
    // A migration of no statement (as `nx g @dbee/nx:migration` writes it, before it is filled in) changes nothing.
    return subject.migrations
      .filter((m) => m.statements.length > 0 && !m.hasRollback)
      .map((m) => ({
        object: null,
        location: { file: m.file, line: 1, column: 1 },
        message: `migration ${m.file} has no rollback statement (its .rollback.sql is missing or empty): write what undoes it`,
      }));
  },
};
