import { describe, expect, it } from 'vitest';
import { inBackground, settleBackground } from './background';

const later = (ms: number, f: () => void) => new Promise<void>((resolve) => setTimeout(() => (f(), resolve()), ms));

describe('background clean-up', () => {
  it('settleBackground waits for every piece of work, also work started while it waits, and swallows failures', async () => {
    const done: string[] = [];
    inBackground(later(30, () => done.push('drop shadow')));
    inBackground(
      later(10, () => done.push('close')).then(() => inBackground(later(30, () => done.push('started while waiting')))),
    );
    inBackground(Promise.reject(new Error('could not drop')));
    await settleBackground();
    expect(done.sort()).toEqual(['close', 'drop shadow', 'started while waiting']);
    // Nothing pending: returns at once.
    await settleBackground();
  });
});
