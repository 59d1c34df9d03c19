import type { ChangeKind } from '../../schema/change';
import { addColumn } from './add-column';
import { addConstraint } from './add-constraint';
import { alterColumnDefault } from './alter-column-default';
import { alterColumnNullability } from './alter-column-nullability';
import { alterColumnType } from './alter-column-type';
import type { ChangeOf, Classification } from './classification';
import { createTable } from './create-table';
import { dropColumn } from './drop-column';
import { dropConstraint } from './drop-constraint';
import { renameColumn } from './rename-column';
import { renameTable } from './rename-table';

export { Classification, of, sameButName, tk } from './classification';

/** How the expand-contract strategy takes one change of kind `K` (one module per kind, pgroll's `op_<kind>`). */
export type ExpandRule<K extends ChangeKind> = (change: ChangeOf<K>, s: Classification) => void;

/**
 * The change kinds the strategy supports, each with its rule; a kind not here is refused (`classify`). Supporting one
 * more kind is one more module and one line here.
 */
export const EXPAND_RULES: { [K in ChangeKind]?: ExpandRule<K> } = {
  'rename-table': renameTable,
  'rename-column': renameColumn,
  'alter-column-type': alterColumnType,
  'alter-column-nullability': alterColumnNullability,
  'add-column': addColumn,
  'drop-column': dropColumn,
  'create-table': createTable,
  'alter-column-default': alterColumnDefault,
  'drop-constraint': dropConstraint,
  'add-constraint': addConstraint,
};
