import { openLedger, type Connection, type Plan } from '@dbee/core';
import type { CapturedDefinition } from './bteq';
import { expandPlaceholders } from '../parse/placeholders';
import { teradataLedger } from '../ledger/teradata-ledger';
import { captureDefinition } from '../introspect/teradata-objects';

/** Kinds whose changed definition the rollback script puts back (REPLACE of the captured text). */
const REPLACED = new Set(['view', 'macro', 'procedure', 'function', 'trigger']);
/** Kinds a deploy script drops when it meets one the ledger does not know, and the rollback script makes again. */
const REMADE = new Set(['join-index', 'hash-index']);

/**
 * What `rollback.btq` needs from the target to undo what a script cannot read at run time (#64 S4), captured when the
 * scripts are exported: the definition of each replaceable object of the plan the ledger knows (with the ledger's
 * checksum, so that the script restores it only when the deployment changed that very version), and of each join or
 * hash index the ledger does not know (made by hand: the deploy script drops it to make the release's). Read with
 * SHOW; an object that does not exist, or a ledger that does not exist yet, captures nothing.
 */
export async function captureForRollback(
  conn: Connection,
  plan: Plan,
  options: { variables: Record<string, string>; ledgerDatabase: string },
): Promise<Map<string, CapturedDefinition>> {
  const expand = (s: string) => expandPlaceholders(s, options.variables);
  // The ledger's own read of what each project has deployed (core's object store), as `dbee deploy` plans from it.
  const known = new Map<string, string>();
  try {
    const ledger = openLedger(conn, teradataLedger(options.ledgerDatabase));
    for (const project of plan.projects)
      for (const [key, checksum] of (await ledger.objects.deployedState(project)).objects) known.set(key, checksum);
  } catch {
    // No ledger yet (a first release): nothing the ledger knows, hand-made indexes still captured.
  }
  const out = new Map<string, CapturedDefinition>();
  for (const step of plan.steps) {
    const kind = step.objectKey.kind;
    if (step.action !== 'create' || (!REPLACED.has(kind) && !REMADE.has(kind))) continue;
    const key = expand(step.key);
    const checksum = known.get(key) ?? null;
    if (REPLACED.has(kind) ? checksum === null : checksum !== null) continue;
    // A SHOW that fails (a procedure compiled without its SPL text, a right the exporting user lacks) captures
    // nothing: rollback.btq then stops at that object, as it does when nothing could be read.
    const definition = await captureDefinition(conn, {
      ...step.objectKey,
      schema: step.objectKey.schema ? expand(step.objectKey.schema) : step.objectKey.schema,
      name: expand(step.objectKey.name),
    }).catch(() => null);
    if (definition) out.set(key, { checksum, definition });
  }
  return out;
}
