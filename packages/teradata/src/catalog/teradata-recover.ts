import { formatKey, type Connection, type ObjectKey, type StartedStep, type StepOutcome } from '@dbee/core';
import { existingObjects } from '../introspect/teradata-objects';
import { isSignificant, tokenize } from '../parse/splitter';
import { normalizeName } from '../parse/teradata-identifiers';
import { qualifiedName, renderDrop } from '../render/teradata-renderer';

/**
 * What a step left when its process died while it ran (see `ObjectCatalog.stepOutcome`). On Teradata every step runs
 * outside a transaction, each statement committing on its own (DDL ends a transaction), so the ledger holds a `started`
 * row for it; what stands in `DBC.TablesV` says how far its recorded statements got, as the BTEQ script's re-run reads
 * it (`bteq.ts`, `interrupted` and the build aside's `SWAP_n`):
 *
 * - a table built aside and swapped (`build-aside.ts`: `RENAME TABLE t TO t_BKP_<stamp>`, then `RENAME TABLE
 *   t_NEW_<stamp> TO t`): nothing built yet, `not-done`; built but not swapped, the `_NEW_` table is dropped (`invalid`)
 *   and the step planned again with `t` as it was; stopped between the renames, the second rename finishes it (`done`);
 *   swapped, `done`. A `done` step keeps its backup, recorded as a step that ran records it;
 * - an object the step created (action `create`, nothing there before it: no conflict's statements, no definition read
 *   before it): absent, `not-done`; present, `done` when the CREATE or REPLACE was the step's one statement; otherwise
 *   (a table's COMMENT or COLLECT STATISTICS may not have run) dropped and planned again, a table only while it holds
 *   no rows;
 * - anything else (an ALTER, a drop, a conflict that renamed a view aside, a table built aside with join indexes or
 *   triggers on it, a table the step made that holds rows, a secondary index, a type, a database): `unknown`, and the
 *   next plan meets it as it is.
 */
export async function stepOutcome(
  conn: Connection,
  key: ObjectKey,
  action: string,
  step: StartedStep,
): Promise<StepOutcome> {
  if (!key.schema) return { state: 'unknown' };
  const renames = step.statements.map(renameOf);
  const name = nameOf(key);
  const first = renames.findIndex((r) => r?.from === name);
  const second = first >= 0 ? renames.findIndex((r, i) => i > first && r?.to === name) : -1;
  if (key.kind === 'table' && second === first + 1 && second === step.statements.length - 1)
    return swapOutcome(conn, key, renames[first]!.to, renames[second]!.from);
  if (action !== 'create' || first >= 0 || step.previousDefinition !== null || !SETTLED_KINDS.has(key.kind))
    return { state: 'unknown' };
  if (!(await existingObjects(conn, [key])).has(formatKey(key))) return { state: 'not-done' };
  if (step.statements.length === 1) return { state: 'done' };
  // Rows someone wrote since are not this step's to drop (a bounded read: one row at most).
  if (key.kind === 'table' && (await conn.query(`SELECT TOP 1 1 AS one FROM ${qualifiedName(key)}`)).rows.length)
    return { state: 'unknown' };
  return {
    state: 'invalid',
    clear: [renderDrop(key)],
    left: `${key.kind} ${qualifiedName(key)}, made by the step${key.kind === 'table' ? ', with no rows' : ''}`,
  };
}

/** Kinds whose presence `DBC.TablesV` tells (a secondary index, a type or a database is left `unknown`). */
const SETTLED_KINDS: ReadonlySet<string> = new Set([
  'table',
  'view',
  'macro',
  'procedure',
  'function',
  'join-index',
  'hash-index',
  'trigger',
]);

/** A table built aside: `backup` and `built` are the names of its two renames (`DB.NAME`, upper case). */
async function swapOutcome(conn: Connection, key: ObjectKey, backup: string, built: string): Promise<StepOutcome> {
  const at = (qualified: string): ObjectKey => {
    const [schema, ...rest] = qualified.split('.');
    return { kind: 'table', schema: schema!, name: rest.join('.') };
  };
  const [bkp, aside] = [at(backup), at(built)];
  const live = await existingObjects(conn, [key, bkp, aside]);
  const [hasTable, hasBackup, hasAside] = [key, bkp, aside].map((k) => live.has(formatKey(k)));
  if (hasTable && !hasBackup && !hasAside) return { state: 'not-done' };
  if (hasTable && !hasBackup && hasAside)
    return {
      state: 'invalid',
      clear: [renderDrop(aside)],
      left: `table ${qualifiedName(aside)}, which it was building aside (${qualifiedName(key)} is as it was)`,
    };
  if (!hasTable && hasBackup && hasAside)
    return {
      state: 'done',
      finish: [`RENAME TABLE ${qualifiedName(aside)} TO ${qualifiedName(key)}`],
      backup: qualifiedName(bkp),
    };
  if (hasTable && hasBackup && !hasAside) return { state: 'done', backup: qualifiedName(bkp) };
  return { state: 'unknown' };
}

/** `DB.NAME` in upper case, as `renameOf` reads names. */
function nameOf(key: ObjectKey): string {
  return `${normalizeName(key.schema)}.${normalizeName(key.name)}`;
}

/** The two names of a `RENAME TABLE a TO b` statement (`DB.NAME`, upper case), or null for any other statement. */
function renameOf(sql: string): { from: string; to: string } | null {
  const words = tokenize(sql, '<statement>').filter(isSignificant);
  if (words[0]?.value !== 'RENAME' || words[1]?.value !== 'TABLE') return null;
  const to = words.findIndex((t) => t.type === 'word' && t.value === 'TO');
  const name = (ts: typeof words) =>
    ts
      .filter((t) => t.type === 'word' || t.type === 'quoted')
      .map((t) => t.value)
      .join('.');
  if (to < 0) return null;
  return { from: name(words.slice(2, to)), to: name(words.slice(to + 1)) };
}
