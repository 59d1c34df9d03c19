import { addColumn } from './add-column';
import { addConstraint } from './add-constraint';
import { alterColumnDefault } from './alter-column-default';
import { alterColumnNullability } from './alter-column-nullability';
import { alterColumnType } from './alter-column-type';
import { createTable } from './create-table';
import { dropColumn } from './drop-column';
import { dropConstraint } from './drop-constraint';
import { renameColumn } from './rename-column';
import { renameTable } from './rename-table';
import type { ExpandKind, ExpandRule } from './rule';

export { Classification, of, sameButName, tk } from './classification';
export { partsOf } from './parts';
export type {
  AbortSlots,
  CompleteSlots,
  ExpandKind,
  ExpandPart,
  ExpandRule,
  ExpandSlots,
  InFlightLookup,
  InFlightTable,
  PartOf,
} from './rule';

/**
 * The change kinds the expand-contract strategy carries, each with its rule (one module per kind, pgroll's
 * `op_<kind>`): what it refuses, what it plans, what each phase does with its part, and whether `complete` makes it.
 * A kind not here is refused when a release is planned. Supporting one more kind is its module, one line here, and
 * its SQL in each engine's `ExpandRole.kinds` (the compiler asks for both lines).
 */
export const EXPAND_RULES: { [K in ExpandKind]: ExpandRule<K> } = {
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
