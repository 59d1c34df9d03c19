import type { ObjectKey } from '../model/object-key';
import type { AppliedChange } from './stale-views';
import type { SmokeCheck } from '../model/smoke-check';

/**
 * The smoke checks of a project that name one of `keys` (`smoke-test --objects`, `rollback --objects`): an `exists`
 * check listing one of them, a statement check whose SQL mentions one by name (qualified or not, as a whole word).
 */
export function checksNaming(checks: readonly SmokeCheck[], keys: readonly ObjectKey[]): SmokeCheck[] {
  const names = keys.map((k) => new RegExp(`(^|[^\\w$])${escapeRegExp(k.name)}($|[^\\w$])`, 'i'));
  return checks.filter((c) =>
    c.body.kind === 'exists'
      ? c.body.keys.some((k) => keys.some((s) => s.kind === k.kind && s.schema === k.schema && s.name === k.name))
      : names.some((re) => re.test(c.body.kind === 'statement' ? c.body.sql : '')),
  );
}

/**
 * The selected objects as the smoke baseline's changes (`SmokeRunOptions.changes`): each changed in place, so that the
 * baseline compiles them and every view over them, in any project.
 */
export function selectedChanges(keys: readonly ObjectKey[]): AppliedChange[] {
  return keys.map((key, i) => ({ key, order: i + 1, action: 'alter' }));
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, (c) => '\\' + c);
}
