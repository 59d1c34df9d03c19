import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blueGreenSwitch, makeGreen } from '@dbee/core';
import { Writers } from '../support/writers';
import { blueGreenStage, sql, IN_FLIGHT } from './setup';

const ROOT = join(__dirname, '..', '..');

/**
 * dbee killed inside a switchover's pause (its process gone after the way back was made, before the router moved):
 * the application's writes wait, paused on PgBouncer. The next switch settles the interrupted one first (undone: the
 * router still pointed at blue), which resumes the writes, then switches; nothing the application wrote is lost.
 */
describe('a switchover whose process is killed inside the pause', () => {
  let stage: Awaited<ReturnType<typeof blueGreenStage>>;
  beforeAll(async () => {
    stage = await blueGreenStage(1000);
  }, 120_000);
  afterAll(async () => {
    await stage?.stop();
  });

  it('is settled by the next switch: undone, writes resumed on blue, then switched; nothing lost', async () => {
    const options = { project: 's', env: 'blue', green: 'green', inFlight: IN_FLIGHT };
    await makeGreen(stage.ctx, options);
    const writers = new Writers(stage.appUrl, 's.orders', 50, 2);
    writers.start();
    try {
      const child = spawn(
        process.execPath,
        ['tools/run.js', 'test/blue-green/switch-child.ts', stage.w.root, String(stage.bouncer.port)],
        {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d));
      child.stderr.on('data', (d: Buffer) => (out += d));
      const ended = await new Promise<{ code: number | null; signal: string | null }>((done) =>
        child.on('exit', (code, signal) => done({ code, signal })),
      );
      expect(ended, out).toEqual({ code: null, signal: 'SIGKILL' });
      // The writes are paused behind the dead switchover.
      const pools = await sql(stage.bouncer.url('pgbouncer'), 'SHOW DATABASES');
      expect(pools.find((p) => p.name === 'app')).toMatchObject({ database: 'app', paused: 1 });
      const steps = await sql(stage.blueUrl, "SELECT step FROM dbee.blue_green WHERE phase = 'switch' ORDER BY id");
      expect(steps.map((s) => s.step)).toEqual([
        'begin',
        'guard',
        'prepare',
        'pause',
        'drain',
        'sequences',
        'stop',
        'slot',
        'subscribe',
      ]);

      const done = await blueGreenSwitch(stage.ctx, { ...options, router: stage.router }, 'blue');
      expect(done.to).toBe('green');
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await writers.stop();
    }
    expect(stage.ctx.output()).toContain(
      'the switch to green did not finish (its process ended at step subscribe): undone, blue serves',
    );
    const ends = await sql(stage.blueUrl, "SELECT phase, status FROM dbee.blue_green WHERE step = 'end' ORDER BY id");
    expect(ends).toEqual([
      { phase: 'deploy', status: 'done' },
      { phase: 'switch', status: 'undone' },
      { phase: 'switch', status: 'done' },
    ]);
    const onGreen = new Set((await sql(stage.greenUrl, 'SELECT token::text AS t FROM s.orders')).map((r) => r.t));
    expect(writers.written.filter((w) => !onGreen.has(w.token))).toEqual([]);
    expect(writers.errors).toEqual([]);
    expect(await sql(stage.appUrl, 'SELECT current_database() AS d')).toEqual([{ d: 'app_green' }]);
  }, 180_000);
});
