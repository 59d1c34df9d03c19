import { z } from 'zod';
import { duration } from '../config/schema';
import { parseKey } from '../model/object-key';

/**
 * The schema of a YAML smoke file (zod): loaded when a project has one (smoke-file.ts), so a deployment without YAML
 * smoke checks loads neither it nor zod.
 */

function isObjectKey(text: string): boolean {
  try {
    parseKey(text);
    return true;
  } catch {
    return false;
  }
}

const IDENT = '(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)';
const ROUTINE_NAME = new RegExp(`^${IDENT}(?:\\.${IDENT})?$`);

const objectKey = z
  .string()
  .refine(
    isObjectKey,
    'expected an object key such as "view:sales.order_totals", "table:core.customers" or "function:sales.order_total(bigint)"',
  );
const routineName = z.string().regex(ROUTINE_NAME, 'expected a routine name such as "sales.order_total"');
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const ACTIONS = ['exists', 'query', 'function', 'procedure'] as const;

/** One check of a YAML smoke file. */
export const smokeCheckSchema = z
  .strictObject({
    /** Shown in the output and recorded in the ledger; unique within the project. */
    name: z.string().min(1),
    /** Object keys that must exist, e.g. `view:sales.order_totals`. */
    exists: z.union([objectKey, z.array(objectKey).min(1)]).optional(),
    /** One statement to run (rolled back afterwards); `$1`, `$2`... take `args`. */
    query: z.string().min(1).optional(),
    /** A function to call with `args`: `SELECT * FROM name($1, ...)`. */
    function: routineName.optional(),
    /** A procedure to call with `args`: `CALL name($1, ...)`. */
    procedure: routineName.optional(),
    args: z.array(scalar).optional(),
    /** Expected result columns, in order: `{ name: type }` with types as PostgreSQL names them (format_type). */
    columns: z.record(z.string(), z.string().min(1)).optional(),
    /** Expected rows, in order; only the columns named are compared. */
    rows: z.array(z.record(z.string(), z.unknown())).optional(),
    /** Time bound, e.g. `2s`; default `deploy.smokeTimeout`, else 10 s. */
    timeout: duration.optional(),
  })
  .superRefine((check, ctx) => {
    const actions = ACTIONS.filter((a) => check[a] !== undefined);
    if (actions.length === 0) {
      ctx.addIssue({ code: 'custom', message: `a check needs one of ${ACTIONS.join(', ')}`, path: [] });
    } else if (actions.length > 1) {
      ctx.addIssue({
        code: 'custom',
        message: `${actions.join(' and ')} cannot be combined: a check does one thing (make two checks)`,
        path: [actions[1]!],
      });
    }
    if (check.exists !== undefined) {
      for (const k of ['args', 'columns', 'rows'] as const) {
        if (check[k] !== undefined)
          ctx.addIssue({
            code: 'custom',
            message: `${k} goes with query, function or procedure, not with exists`,
            path: [k],
          });
      }
    }
  });

/** A YAML smoke file: `checks:`, a list of checks. */
export const smokeFileSchema = z.strictObject({ checks: z.array(smokeCheckSchema) });
