import { afterAll, describe, expect, it } from 'vitest';
import type { TestWorkspace } from '../runner/helpers';
import { generatedWorkspace, seeded, terminateLockAt } from './lock-termination';

// Long fault case (npm run test:faults only): the deployment lock's session terminated at a random step of a
// 1,000-object deployment, 20 times, each on a fresh database. No step may commit after the termination: the steps of
// a request go on only while the lock's guard, evaluated inside the request, says the lock is held.

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

describe('fault (long): the lock session terminated at a random step of a 1,000-object deployment [postgres]', () => {
  // Twenty 1,000-object deployments and their resumptions: minutes on a quiet machine, more on a loaded one.
  it('20 terminations: zero steps committed after the termination, by the ledger step times against the server clock', {
    timeout: 3_600_000,
  }, async () => {
    const seed = Number(process.env.DBEE_FAULT_SEED ?? Date.now() % 1_000_000);
    const random = seeded(seed);
    const runs: string[] = [];
    for (let i = 0; i < 20; i++) {
      const { w, steps } = await generatedWorkspace(1000);
      const at = 5 + Math.floor(random() * (steps * 0.8));
      const { late, applied } = await terminateLockAt(w, at);
      runs.push(`#${i + 1}: terminated after ${at} of ${steps} steps, ${applied} applied, ${late.length} late`);
      expect(late, `seed ${seed}\n${runs.join('\n')}`).toEqual([]);
      expect(applied).toBeLessThan(steps);
      await w.remove();
    }
    console.log(`seed ${seed}\n${runs.join('\n')}`);
  });
});
