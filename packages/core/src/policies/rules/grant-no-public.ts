import { z } from 'zod';
import type { PolicyRule } from '../rule';
import { qualified } from './shared';

/** Nothing is granted to PUBLIC beyond what the engine grants a new object by itself. */
export const grantNoPublic: PolicyRule<Record<string, never>> = {
  name: 'grant-no-public',
  category: 'security',
  summary: "No privilege is granted to PUBLIC (every role), beyond the engine's own defaults.",
  why: 'PUBLIC includes every role that will ever exist; grant to a role the team owns instead.',
  defaultLevel: 'warning',
  engines: ['postgres'],
  params: z.strictObject({}),
  examples: {
    forbid: 'CREATE TABLE app.t (id bigint PRIMARY KEY);\nGRANT SELECT ON app.t TO PUBLIC;',
    allow: 'CREATE TABLE app.t (id bigint PRIMARY KEY);',
  },
  check(subject) {
    const defaults = subject.model.defaultPrivileges;
    // Only what the sources grant: a database's own grants to PUBLIC (schema public's USAGE) are not the project's.
    const grantsPublic = (target: (typeof subject.model.privileges)[number]['target']) =>
      subject.statements(target).find((s) => s.action === 'grant' && /\bto\s+public\b/i.test(s.sql));
    return subject.model.privileges
      .filter((p) => p.grantee === 'PUBLIC' && subject.judges(p.target) && grantsPublic(p.target))
      .map((p) => ({
        p,
        extra: p.privileges.filter(
          (x) => !(defaults[p.target.kind] ?? []).some((d) => d.grantee === 'PUBLIC' && d.privileges.includes(x)),
        ),
      }))
      .filter(({ extra }) => extra.length > 0)
      .map(({ p, extra }) => ({
        object: p.target,
        location: grantsPublic(p.target)?.location,
        message: `${extra.join(', ')} on ${p.target.kind} ${qualified(p.target)}${p.column ? ` (${p.column})` : ''} granted to PUBLIC: grant to a role instead`,
      }));
  },
};
