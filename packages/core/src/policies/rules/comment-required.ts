import { z } from 'zod';
import type { ObjectKey } from '../../model/object-key';
import type { PolicyLevel, PolicyRule } from '../rule';
import type { PolicySubject } from '../subject';
import { qualified } from './shared';

/** A rule that every object of some kinds has a comment. */
export function commentRule(spec: {
  name: string;
  what: string;
  bytebase?: string;
  defaultLevel: PolicyLevel;
  engines: PolicyRule['engines'];
  examples: PolicyRule['examples'];
  objects(subject: PolicySubject): ObjectKey[];
}): PolicyRule<Record<string, never>> {
  return {
    name: spec.name,
    category: 'comments',
    summary: `Every ${spec.what} has a comment.`,
    why: 'The catalog is the one documentation every tool shows (psql \\d+, BI tools, dbt docs, dbee graph).',
    bytebase: spec.bytebase,
    defaultLevel: spec.defaultLevel,
    engines: spec.engines,
    params: z.strictObject({}),
    examples: spec.examples,
    check(subject) {
      const commented = new Set(
        subject.model.comments
          .filter((c) => !c.column && !c.constraint)
          .map((c) => `${c.target.kind}:${qualified(c.target)}`),
      );
      return spec
        .objects(subject)
        .filter((k) => !commented.has(`${k.kind}:${qualified(k)}`))
        .map((k) => ({
          object: k,
          message: `${k.kind} ${qualified(k)} has no comment: COMMENT ON ${k.kind.replace('-', ' ').toUpperCase()} ${qualified(k)} IS '...'`,
        }));
    },
  };
}
