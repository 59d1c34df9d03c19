import type { PlanStep, StepAction } from '@dbee/core';
import { formatKey } from '@dbee/core/schema';
import { changeObjectKey, classifyHazards } from '@dbee/core/schema';
import type { Change, ChangeKind, SchemaModel } from '@dbee/core/schema';
import { renderChange } from './render-change';
import { columnBackup } from './column-backup';
import { partitionWiseBuild, safeSteps, withLockTimeout } from './safe-rewrites';
import type { RenderMode } from '@dbee/core';
import { postgresFacts } from '../introspect/postgres-facts';

/** A plan step as rendering knows it: the planner adds order, project, source and checksum. */
export type RenderedStep = Omit<PlanStep, 'order' | 'project' | 'source' | 'checksum'>;

export interface PlanStepOptions extends Partial<RenderMode> {
  /** The model the changes start from (the live database), for hazards. */
  from: SchemaModel;
  /** The model the changes lead to (the desired schema), for hazards. */
  to: SchemaModel;
}

const ACTIONS: Record<ChangeKind, StepAction> = {
  'create-schema': 'create',
  'drop-schema': 'drop',
  'create-extension': 'create',
  'drop-extension': 'drop',
  'alter-extension-version': 'alter',
  'create-collation': 'create',
  'drop-collation': 'drop',
  'alter-collation': 'alter',
  'create-text-search-dictionary': 'create',
  'drop-text-search-dictionary': 'drop',
  'alter-text-search-dictionary': 'alter',
  'create-text-search-configuration': 'create',
  'drop-text-search-configuration': 'drop',
  'alter-text-search-configuration': 'alter',
  'create-table': 'create',
  'drop-table': 'drop',
  'copy-rows': 'alter',
  'alter-table-options': 'alter',
  'rename-table': 'alter',
  'rename-object': 'alter',
  'add-column': 'alter',
  'drop-column': 'alter',
  'rename-column': 'alter',
  'alter-column-type': 'alter',
  'alter-column-default': 'alter',
  'alter-column-nullability': 'alter',
  'alter-column-settings': 'alter',
  'alter-column-identity': 'alter',
  'add-constraint': 'add-constraint',
  'drop-constraint': 'alter',
  'alter-constraint': 'alter',
  'create-index': 'create',
  'drop-index': 'drop',
  'alter-index-options': 'alter',
  'create-view': 'create',
  'replace-view': 'replace',
  'drop-view': 'drop',
  'create-routine': 'create',
  'replace-routine': 'replace',
  'drop-routine': 'drop',
  'create-trigger': 'create',
  'replace-trigger': 'replace',
  'drop-trigger': 'drop',
  'create-sequence': 'create',
  'alter-sequence': 'alter',
  'drop-sequence': 'drop',
  'create-type': 'create',
  'drop-type': 'drop',
  'alter-enum-add-value': 'alter',
  'alter-composite-attributes': 'alter',
  'create-domain': 'create',
  'drop-domain': 'drop',
  'alter-domain-default': 'alter',
  'alter-domain-nullability': 'alter',
  'add-domain-constraint': 'add-constraint',
  'drop-domain-constraint': 'alter',
  'set-comment': 'alter',
  grant: 'alter',
  revoke: 'alter',
  'set-owner': 'alter',
};

/** What a change re-creates (`PlanStep.recreates`): its cause, or the table a copy of rows fills. */
function recreation(change: Change): { recreates?: string } {
  if (change.kind === 'copy-rows') return { recreates: formatKey(change.table) };
  const cause = 'recreate' in change ? change.recreate?.cause : undefined;
  return cause ? { recreates: cause } : {};
}

/**
 * One step per change, in the order given (the differ's order): statements, reverse, transactionality and
 * hazards, shaped like a `PlanStep` without what only the planner knows. With `safe`, a change may become several
 * steps (see `safeSteps`), each starting with its lock timeout (`withLockTimeout`).
 */
export function renderPlanSteps(changes: Change[], options: PlanStepOptions): RenderedStep[] {
  const online = options.online ?? false;
  return changes.flatMap((change): RenderedStep[] => {
    const objectKey = changeObjectKey(change);
    const hazards = (asOnline: boolean) =>
      classifyHazards(change, options.from, options.to, { online: asOnline, facts: postgresFacts });
    const base = { key: formatKey(objectKey), objectKey, action: ACTIONS[change.kind], ...recreation(change) };
    // deploy.keepDroppedColumns: a dropped column's values are kept in a backup table its reverse restores them from.
    const kept =
      change.kind === 'drop-column' && options.keepDroppedColumns
        ? columnBackup(change, options.from, options.keepDroppedColumns.stamp)
        : null;
    if (kept && !options.safe) return [{ ...base, ...kept, transactional: true, hazards: hazards(online) }];
    if (!options.safe) {
      // deploy.online: a partitioned table's new index is built per partition; when it cannot be, it blocks writes.
      const partitioned = change.kind === 'create-index' && change.index.attrs['partitioned'] === true;
      const built = online && partitioned ? partitionWiseBuild(change, options.from, options.to) : null;
      if (built && typeof built !== 'string') return [{ ...base, ...built, hazards: hazards(true) }];
      const sql = renderChange(change, { online });
      const notes = typeof built === 'string' ? { notes: [built.replace(/^safe: /, 'online: ')] } : {};
      return [{ ...base, ...sql, hazards: hazards(online && !partitioned), ...notes }];
    }
    const ms = options.safe.lockTimeoutMs;
    return safeSteps(change, options.from, options.to, online).map((s) => ({
      ...base,
      statements: withLockTimeout(s.sql.statements, ms),
      reverse: s.sql.reverse?.length ? withLockTimeout(s.sql.reverse, ms) : s.sql.reverse,
      transactional: s.sql.transactional,
      hazards: s.hazards ? hazards(s.online).filter((h) => !s.satisfied.includes(h.rule ?? '')) : [],
      ...(s.notes.length ? { notes: s.notes } : {}),
    }));
  });
}
