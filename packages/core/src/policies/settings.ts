import { z } from 'zod';
import type { DbProject, Workspace } from '../config/workspace';
import type { YamlFile } from '../config/yaml-file';
import { DbeeAggregateError, DbeeError } from '../errors';
import { POLICY_RULES, RULES_BY_NAME } from './catalogue';
import { policyBlocks } from './blocks';
import type { AnyPolicyRule, PolicyLevel } from './rule';

const LEVELS = ['error', 'warning', 'off'] as const;
const level = z.enum(LEVELS);

/** One rule as configured: its level and its parameters, defaults filled in. */
export interface RuleSetting {
  rule: AnyPolicyRule;
  level: PolicyLevel;
  params: Record<string, unknown>;
  /** Where its level was last set (`dbee.yaml:12`), or `default` for the documented default set. */
  from: string;
}

/** The rules in force for one project on one environment. */
export interface PolicySettings {
  /** Every rule that judges the project's engine, with its level (off included), in catalogue order. */
  rules: RuleSetting[];
  /** True when `policies:` appears in dbee.yaml or the project's db.yaml (for the environment or not). */
  configured: boolean;
}

/**
 * The policies in force for `project` on `environment`: the documented default set, then `policies:` of dbee.yaml, of
 * dbee.yaml's environment, of the project's db.yaml and of its environment, each key over the one before (a project is
 * more specific than the workspace). A key is a rule's name with a level (`table-comment: error`) or a mapping of
 * `level` and parameters (`table-required-columns: { level: error, columns: [id, created_at] }`); `"*"` sets every
 * rule's level at once (`"*": off`, then the rules wanted). Every problem (an unknown rule, a parameter of the wrong
 * type) is refused at once with its file and line. Only the rules of the project's engine (`PolicyRule.engines`) are in
 * force: one of another engine named in dbee.yaml is left out for this project, named in the project's own db.yaml it
 * is refused.
 */
export function policySettings(workspace: Workspace, project: DbProject, environment: string): PolicySettings {
  const blocks = policyBlocks(workspace, project, environment);
  const engine = project.config.engine;
  const current = new Map<string, RuleSetting>(
    POLICY_RULES.filter((rule) => rule.engines.includes(engine)).map((rule) => [
      rule.name,
      { rule, level: rule.defaultLevel, params: parseParams(rule, {}), from: 'default' },
    ]),
  );
  const problems: DbeeError[] = [];
  for (const block of blocks) {
    for (const [name, raw] of Object.entries(block.value)) {
      const at = [...block.path, name];
      const where = `${block.file.displayPath}:${block.file.locate(at).line ?? 1}`;
      if (name === '*') {
        const parsed = level.safeParse(raw);
        if (!parsed.success)
          problems.push(invalid(block.file, at, `"*" sets every rule's level: expected error, warning or off`));
        else for (const s of current.values()) Object.assign(s, { level: parsed.data, from: where });
        continue;
      }
      const rule = RULES_BY_NAME.get(name);
      if (!rule) {
        const near = nearestName(name, [...RULES_BY_NAME.keys()]);
        problems.push(
          invalid(
            block.file,
            at,
            `policies: no rule "${name}"${near ? `; did you mean "${near}"?` : ''}`,
            'see docs/policies.md for the rules and their parameters',
          ),
        );
        continue;
      }
      if (!current.has(name)) {
        if (block.file === project.file)
          problems.push(
            invalid(
              block.file,
              at,
              `policies: rule "${name}" does not judge ${engine} projects (it judges ${rule.engines.join(', ')})`,
              `take it out of this db.yaml; docs/policies.md lists the rules of each engine`,
            ),
          );
        continue;
      }
      const entry = typeof raw === 'string' ? { level: raw } : raw;
      const shape = z.strictObject({ level: level.optional() }).catchall(z.unknown());
      try {
        const { level: lvl, ...params } = block.file.validate(shape, entry, at) as { level?: PolicyLevel } & Record<
          string,
          unknown
        >;
        const setting = current.get(name)!;
        const merged = { ...setting.params, ...params };
        setting.params = block.file.validate(rule.params as z.ZodType, merged, at) as Record<string, unknown>;
        if (lvl) setting.level = lvl;
        setting.from = where;
      } catch (e) {
        problems.push(...(e instanceof DbeeAggregateError ? e.errors : [e as DbeeError]));
      }
    }
  }
  if (problems.length === 1) throw problems[0]!;
  if (problems.length)
    throw new DbeeAggregateError(`the policies have ${problems.length} problems`, problems, 'POLICY_CONFIG_INVALID');
  return { rules: [...current.values()], configured: blocks.length > 0 };
}

function parseParams(rule: AnyPolicyRule, given: Record<string, unknown>): Record<string, unknown> {
  return (rule.params as z.ZodType).parse(given) as Record<string, unknown>;
}

function invalid(file: YamlFile, path: (string | number)[], message: string, hint?: string): DbeeError {
  return new DbeeError(message, { code: 'POLICY_CONFIG_INVALID', location: file.locate(path), hint });
}

/** The known name closest to `name` (edit distance at most a third of its length), or null. */
export function nearestName(name: string, known: readonly string[]): string | null {
  let best: { name: string; d: number } | null = null;
  for (const k of known) {
    const d = distance(name, k);
    if (!best || d < best.d) best = { name: k, d };
  }
  return best && best.d <= Math.max(2, Math.floor(name.length / 3)) ? best.name : null;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const here = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = here;
    }
  }
  return row[b.length]!;
}
