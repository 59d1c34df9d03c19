import { z } from 'zod';
import type { ObjectKey } from '../../model/object-key';
import type { PolicyCategory, PolicyLevel, PolicyRule, RawFinding } from '../rule';
import type { PolicySubject } from '../subject';
import { pattern, qualified, SNAKE_CASE } from './shared';

/** A rule that every name of one kind matches a pattern (default snake_case): the naming rules are this shape. */
export function namePatternRule(spec: {
  name: string;
  what: string;
  bytebase?: string;
  defaultLevel: PolicyLevel;
  engines: PolicyRule['engines'];
  examples: PolicyRule['examples'];
  names(subject: PolicySubject): Array<{ object: ObjectKey; name: string; near?: string }>;
  category?: PolicyCategory;
}): PolicyRule<{ pattern: string }> {
  return {
    name: spec.name,
    category: spec.category ?? 'naming',
    summary: `${spec.what} names match a pattern (default snake_case: ${SNAKE_CASE}).`,
    why: 'One spelling of names across a monorepo: no quoting, no guessing how a name is written.',
    bytebase: spec.bytebase,
    defaultLevel: spec.defaultLevel,
    engines: spec.engines,
    params: z.strictObject({ pattern: pattern(SNAKE_CASE) }),
    examples: spec.examples,
    check(subject, params) {
      const re = new RegExp(params.pattern);
      return spec
        .names(subject)
        .filter((n) => !re.test(n.name))
        .map(
          (n): RawFinding => ({
            object: n.object,
            near: n.near,
            message: `${spec.what.toLowerCase()} name "${n.name}" (${qualified(n.object)}) does not match ${params.pattern}: rename it`,
          }),
        );
    },
  };
}
