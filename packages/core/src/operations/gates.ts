import { createInterface } from 'node:readline/promises';
import type { ResolvedEnvironment } from '../config/resolve';
import { DbeeError } from '../errors';
import type { Plan } from '../plan/plan';
import type { OperationContext } from './context';

/**
 * Environment gates, checked before anything is applied: maintenance windows, then protection (the user types
 * the environment's name, or passes --assume-yes when nobody can answer), then the countdown.
 */
export async function checkGates(
  ctx: OperationContext,
  environment: ResolvedEnvironment,
  plan: Plan,
  options: { assumeYes: boolean; countdownFrom?: number; now?: Date; skipCountdown?: boolean },
): Promise<void> {
  const gates = environment.gates;
  if (gates.maintenanceWindows?.length) {
    const now = options.now ?? new Date();
    if (!gates.maintenanceWindows.some((w) => inWindow(w, now))) {
      const list = gates.maintenanceWindows.map((w) => `${w.days?.join(',') ?? 'every day'} ${w.from}-${w.to} ${w.timezone ?? 'UTC'}`).join('; ');
      throw new DbeeError(`environment ${environment.name} only accepts deployments inside its maintenance window (${list})`, {
        code: 'GATE_MAINTENANCE_WINDOW',
        location: environment.declaredAt,
        hint: 'deploy inside the window, or change gates.maintenanceWindows in dbee.yaml',
      });
    }
  }
  if (!gates.protected) return;
  if (!options.assumeYes) {
    if (!ctx.interactive) {
      throw new DbeeError(`environment ${environment.name} is protected: a non-interactive run needs --assume-yes`, {
        code: 'GATE_CONFIRMATION_REQUIRED',
        location: environment.declaredAt,
        hint: 'review the plan (--dry-run), then run again with --assume-yes',
      });
    }
    const rl = createInterface({ input: process.stdin, output: ctx.stdout });
    const answer = (await rl.question(`${plan.steps.length} steps will be applied to protected environment "${environment.name}". Type its name to continue: `)).trim();
    rl.close();
    if (answer !== environment.name) {
      throw new DbeeError('confirmation did not match; nothing was applied', { code: 'GATE_CONFIRMATION_REFUSED' });
    }
  }
  const from = options.skipCountdown ? 0 : options.countdownFrom ?? gates.countdown ?? 3;
  for (let i = from; i > 0; i--) {
    ctx.stdout.write(`starting in ${i}...\n`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** Whether `now` falls inside a window; windows may cross midnight (22:00-04:00). */
export function inWindow(w: { days?: string[]; from: string; to: string; timezone?: string }, now: Date): boolean {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: w.timezone ?? 'UTC', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(now);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  const day = get('weekday').toLowerCase().slice(0, 3);
  const minutes = Number(get('hour')) * 60 + Number(get('minute'));
  const [fh, fm] = w.from.split(':').map(Number) as [number, number];
  const [th, tm] = w.to.split(':').map(Number) as [number, number];
  const from = fh * 60 + fm;
  const to = th * 60 + tm;
  if (from <= to) return (!w.days || w.days.includes(day)) && minutes >= from && minutes < to;
  // Crosses midnight: the part after midnight belongs to the previous day's window.
  if (minutes >= from) return !w.days || w.days.includes(day);
  if (minutes < to) {
    const prev = DAYS[(DAYS.indexOf(day as (typeof DAYS)[number]) + 6) % 7]!;
    return !w.days || w.days.includes(prev);
  }
  return false;
}
