import type { BlueGreenSide } from '../engine/blue-green-role';
import { DbeeError } from '../errors';
import { otherSide } from './names';
import type { BlueGreenStep } from './record';
import { feeding, sideOf, sleep, type Replication } from './replication';

/** One sign that the side `finish` would drop holds rows the side that stays never got. */
export interface RowsLeft {
  /** `schema.name` of the table or sequence. */
  what: string;
  /** One sentence: what was found, with the numbers. */
  found: string;
}

/** How long `finish` waits for the side it drops to have the rows of the side that stays before it counts. */
const SETTLE_MS = 10_000;

/**
 * What the side `dropped` holds that the side that stays does not, read before `finish` drops it. A side that stopped
 * serving gets only the other side's rows, through replication: nothing of its own moves its sequences, nor makes it
 * hold more rows than the side that serves, nor breaks the subscription that feeds it. So each of these is a client
 * that wrote to it directly, bypassing the router, after the switchover that retired it:
 * - its sequences past the values they had when it stopped serving (recorded by that switchover's `sequences` step);
 * - the subscription that feeds it failed (the way back met a row written there: a duplicate key);
 * - a table with more rows there than on the side that stays, counted once it has the rows the side that stays had
 *   (waited for, bounded; while the subscription has failed, counted as it is).
 * Empty when nothing was found, or when `dropped` never served (green given up before any switch).
 */
export async function rowsLeft(
  rep: Replication,
  steps: readonly BlueGreenStep[],
  dropped: BlueGreenSide,
  schemas: readonly string[],
  tables: readonly string[],
): Promise<RowsLeft[]> {
  const stays = otherSide(dropped);
  // The switchover that moved the application off `dropped` (a switch from blue, a fallback from green), done.
  const moved = steps.findLastIndex(
    (s) => s.step === 'end' && s.status === 'done' && s.phase === (dropped === 'blue' ? 'switch' : 'fallback'),
  );
  if (moved < 0) return [];
  const begin = steps.slice(0, moved).findLastIndex((s) => s.step === 'begin');
  const recorded = steps.slice(begin, moved).find((s) => s.step === 'sequences' && s.status === 'done')?.detail?.[
    'values'
  ] as Record<string, string | null> | undefined;
  const out: RowsLeft[] = [];
  const side = sideOf(rep, dropped);
  const other = sideOf(rep, stays);
  if (recorded) {
    for (const v of await rep.role.sequences(side.conn, schemas)) {
      const name = `${v.schema}.${v.name}`;
      const was = recorded[name];
      if (v.value === null || was === undefined) continue;
      const taken = BigInt(v.value) - BigInt(was ?? '0');
      if (taken > 0n)
        out.push({
          what: name,
          found: `sequence ${name} on ${dropped} gave ${taken} key(s) since the ${steps[moved]!.phase} (from ${was ?? 'unused'} to ${v.value}): rows written there directly`,
        });
    }
  }
  const back = feeding(rep, stays);
  const health = await rep.role.health(side.conn, back);
  if (health.exists && health.failed)
    out.push({
      what: back,
      found: `the subscription that feeds ${dropped} from ${stays} has failed (${health.failed}): most often a row written on ${dropped} directly that the rows of ${stays} then met`,
    });
  if (health.exists && !health.failed) await settled(rep, stays, back);
  const there = await rep.role.countRows(side.conn, tables);
  const here = new Map((await rep.role.countRows(other.conn, tables)).map((c) => [c.table, c.rows]));
  for (const c of there) {
    const n = here.get(c.table);
    if (n !== undefined && c.rows > n)
      out.push({
        what: c.table,
        found: `${c.table} has ${c.rows} rows on ${dropped}, ${n} on ${stays}: at least ${c.rows - n} exist only on ${dropped}`,
      });
  }
  return out;
}

/** Wait (bounded) until the subscriber fed from `stays` by `slot` has confirmed what `stays` had a moment ago. */
async function settled(rep: Replication, stays: BlueGreenSide, slot: string): Promise<void> {
  const conn = sideOf(rep, stays).conn;
  const position = await rep.role.position(conn);
  const deadline = Date.now() + SETTLE_MS;
  while (Date.now() < deadline && !(await rep.role.reached(conn, slot, position))) await sleep(50);
}

/** Refuse `finish` over `found` (unless `force`, which says what it accepts to lose). */
export function refuseRowsLeft(
  found: readonly RowsLeft[],
  dropped: BlueGreenSide,
  where: string,
  force: boolean,
  warn: (line: string) => void,
): void {
  if (!found.length) return;
  const list = found.map((f) => f.found).join('; ');
  if (force) {
    warn(`--force: dropping ${dropped} with what only it holds: ${list}`);
    return;
  }
  throw new DbeeError(`finish refused: ${dropped} holds rows that never reached the side that stays: ${list}`, {
    code: 'REPLICATION_ROWS_LEFT',
    hint: `copy those rows to the side that serves (find them by the keys past the sequence values named), then run dbee finish${where} again; or dbee finish${where} --force to drop ${dropped} with them; nothing was changed`,
    details: { found },
  });
}
