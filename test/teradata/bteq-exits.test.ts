import { afterEach, describe, expect, it } from 'vitest';
import { runBteq } from '../../packages/teradata/testing';
import { ansiEnvironment, exportScripts, teradataWorkspace, type TeradataWorkspace } from './helpers';

// Issue #73 item 2: every way out of deploy.btq and rollback.btq releases the deployment lock before it logs off.
// BTEQ does not send an SQL request after `.LOGOFF` ("Terminates the user's database sessions without exiting from
// BTEQ", BTEQ Reference, LOGOFF); the double's interpreter does the same (testing/bteq-interpreter.ts), so a release
// written after the logoff leaves the lock row behind. The walk: for each exit label of a script (a `.LABEL` whose
// block ends the script with `.QUIT n`), the script is run with a `.GOTO` to that label right after it took the
// lock, on a fresh copy of the system, and the lock table is read afterwards. Verified against the double only.

const opened: TeradataWorkspace[] = [];
afterEach(() => {
  for (const w of opened.splice(0)) w.dispose();
});

/** Exit labels after line `from`: a label whose block (up to the next label) holds a plain `.QUIT n`. */
function exitLabels(lines: string[], from: number): { label: string; code: number }[] {
  const out: { label: string; code: number }[] = [];
  for (let i = from; i < lines.length; i++) {
    const label = /^\.LABEL (\S+)$/.exec(lines[i]!)?.[1];
    if (!label) continue;
    for (let j = i + 1; j < lines.length && !lines[j]!.startsWith('.LABEL '); j++) {
      const quit = /^\.QUIT (\d+)$/.exec(lines[j]!);
      if (quit) {
        out.push({ label, code: Number(quit[1]) });
        break;
      }
    }
  }
  return out;
}

/** The line after the script took the lock: after its INSERT into the lock table and the checks and COMMIT after it. */
function afterLock(lines: string[]): number {
  let i = lines.findIndex((l) => /^INSERT INTO \S*"lock"/.test(l));
  expect(i, 'the script takes the lock').toBeGreaterThan(0);
  i++;
  while (/^\.IF |^COMMIT;$/.test(lines[i]!)) i++;
  return i;
}

/** Run `script` once per exit label (jumping there right after the lock is taken) on a copy of `w`'s system. */
async function walkExits(w: TeradataWorkspace, script: string): Promise<string[]> {
  const lines = script.split('\n');
  const at = afterLock(lines);
  const exits = exitLabels(lines, at);
  const problems: string[] = [];
  for (const exit of exits) {
    const system = w.session.copySystem();
    const jumped = [...lines.slice(0, at), `.GOTO ${exit.label}`, ...lines.slice(at)].join('\n');
    const run = await runBteq(jumped, system.newSession());
    const lock = system.rows('DBEE_LEDGER.lock') ?? [];
    if (run.exitCode !== exit.code) problems.push(`${exit.label}: exit ${run.exitCode}, expected ${exit.code}`);
    if (lock.length) problems.push(`${exit.label} (exit ${exit.code}): lock row left: ${JSON.stringify(lock[0])}`);
    if (run.notSent.some((r) => /"lock"/.test(r))) problems.push(`${exit.label}: lock release sent after .LOGOFF`);
  }
  expect(exits.length).toBeGreaterThan(3);
  return problems;
}

describe('every exit of deploy.btq and rollback.btq releases the lock before it logs off (#73 item 2)', () => {
  for (const tmode of ['TERA', 'ANSI'] as const) {
    it(`${tmode}: each exit label of both scripts, and their normal ends, leave no lock row`, async () => {
      const w = teradataWorkspace({ tmode });
      opened.push(w);
      if (tmode === 'ANSI') ansiEnvironment(w);
      const { deploy, rollback } = await exportScripts(w);
      expect(await walkExits(w, deploy)).toEqual([]);
      // The whole deploy script, then the whole rollback script: exit 0, no lock row, no request left unsent.
      const run = await runBteq(deploy, w.session.newSession());
      expect(run.exitCode, run.output.slice(-5).join('\n')).toBe(0);
      expect(w.ledger('lock')).toEqual([]);
      expect(run.notSent).toEqual([]);
      expect(await walkExits(w, rollback)).toEqual([]);
      const back = await runBteq(rollback, w.session.newSession());
      expect(back.exitCode, back.output.slice(-5).join('\n')).toBe(0);
      expect(w.ledger('lock')).toEqual([]);
      expect(back.notSent).toEqual([]);
    });
  }
});
