import { formatKey, type PlanStep, type StepAction } from '@dbee/core';
import { changeObjectKey, classifyHazards } from '@dbee/core/schema';
import type { Change, ChangeKind, SchemaModel } from '@dbee/core/schema';
import { renderChange, type RenderOptions } from './render-change';
import { postgresFacts } from '../postgres-facts';

/** A plan step as rendering knows it: the planner adds order, project, source and checksum. */
export type RenderedStep = Omit<PlanStep, 'order' | 'project' | 'source' | 'checksum'>;

export interface PlanStepOptions extends RenderOptions {
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
  'create-table': 'create',
  'drop-table': 'drop',
  'copy-rows': 'alter',
  'alter-table-options': 'alter',
  'rename-table': 'alter',
  'add-column': 'alter',
  'drop-column': 'alter',
  'rename-column': 'alter',
  'alter-column-type': 'alter',
  'alter-column-default': 'alter',
  'alter-column-nullability': 'alter',
  'alter-column-identity': 'alter',
  'add-constraint': 'add-constraint',
  'drop-constraint': 'alter',
  'create-index': 'create',
  'drop-index': 'drop',
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

/**
 * One step per change, in the order given (the differ's order): statements, reverse, transactionality and
 * hazards, shaped like a `PlanStep` without what only the planner knows.
 */
export function renderPlanSteps(changes: Change[], options: PlanStepOptions): RenderedStep[] {
  const render: RenderOptions = { online: options.online };
  return changes.map((change) => {
    const objectKey = changeObjectKey(change);
    const sql = renderChange(change, render);
    return {
      key: formatKey(objectKey),
      objectKey,
      action: ACTIONS[change.kind],
      statements: sql.statements,
      reverse: sql.reverse,
      transactional: sql.transactional,
      hazards: classifyHazards(change, options.from, options.to, { online: options.online, facts: postgresFacts }),
    };
  });
}
