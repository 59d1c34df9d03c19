import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DBEE = join(__dirname, '..', '..', 'packages', 'cli', 'bin', 'dbee.js');

describe('dbee writing into a pipe its reader closed (dbee log | head)', () => {
  it('finishes quietly: no EPIPE stack, its own exit code', async () => {
    const child = spawn(process.execPath, [DBEE, 'deploy', '--help'], {
      env: { ...process.env, DBEE_USE_DIST: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The reader goes away before dbee writes anything (it has not even started yet).
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
