import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// `npm run test:teradata-live` (tools/teradata-live.js) needs a real Teradata system: without its variables it must
// refuse (exit 1) and say which one is missing, never skip silently or pass.

const TOOL = resolve(__dirname, '../../tools/teradata-live.js');

function runTool(env: Record<string, string>) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DBEE_TEST_TD_')));
  return spawnSync(process.execPath, [TOOL], { env: { ...clean, ...env }, encoding: 'utf8' });
}

describe('npm run test:teradata-live without a system', () => {
  it('exits 1 naming every missing variable', () => {
    const none = runTool({});
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/^error: DBEE_TEST_TD_HOST, DBEE_TEST_TD_USER, DBEE_TEST_TD_PASSWORD are not set/);
    const noPassword = runTool({ DBEE_TEST_TD_HOST: 'td.example.com', DBEE_TEST_TD_USER: 'dbee_test' });
    expect(noPassword.status).toBe(1);
    expect(noPassword.stderr).toMatch(/^error: DBEE_TEST_TD_PASSWORD is not set/);
  });

  it('exits 1 when BTEQ is not found, naming it', () => {
    const r = runTool({
      DBEE_TEST_TD_HOST: 'td.example.com',
      DBEE_TEST_TD_USER: 'dbee_test',
      DBEE_TEST_TD_PASSWORD: 'x',
      DBEE_TEST_TD_BTEQ: '/nonexistent/bteq',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\/nonexistent\/bteq was not found/);
  });
});
