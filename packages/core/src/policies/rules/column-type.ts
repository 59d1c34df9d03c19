import { z } from 'zod';
import type { Column, Table } from '../../schema/model';
import type { PolicyCategory, PolicyLevel, PolicyRule, RawFinding } from '../rule';
import type { PolicySubject } from '../subject';
import { qualified } from './shared';

/** A rule about each column of the judged tables: the type rules are this shape. */
export function columnRule(spec: {
  name: string;
  summary: string;
  why: string;
  bytebase?: string;
  defaultLevel: PolicyLevel;
  engines: PolicyRule['engines'];
  category?: PolicyCategory;
  examples: PolicyRule['examples'];
  /** The finding's message for a column that breaks the rule, or null when it keeps it. */
  judge(column: Column, table: Table, subject: PolicySubject): string | null;
}): PolicyRule<Record<string, never>> {
  return {
    name: spec.name,
    category: spec.category ?? 'types',
    summary: spec.summary,
    why: spec.why,
    bytebase: spec.bytebase,
    defaultLevel: spec.defaultLevel,
    engines: spec.engines,
    params: z.strictObject({}),
    examples: spec.examples,
    check(subject) {
      return subject.tables().flatMap((t) =>
        t.columns.flatMap((c): RawFinding[] => {
          const message = spec.judge(c, t, subject);
          return message ? [{ object: t.key, near: c.name, message: `${qualified(t.key)}.${c.name}: ${message}` }] : [];
        }),
      );
    },
  };
}
