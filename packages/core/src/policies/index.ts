export { POLICY_RULES, RULES_BY_NAME } from './catalogue';
export { readExceptions, type PolicyException } from './exceptions';
export { judgePolicies, type PolicyJudgment } from './judge';
export type { AnyPolicyRule, PolicyFinding, PolicyLevel, PolicyRule } from './rule';
export { policySettings, nearestName, type PolicySettings, type RuleSetting } from './settings';
export { PolicySubject, type PolicyMigration } from './subject';
