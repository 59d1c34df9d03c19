#!/usr/bin/env node
// npm run test:teradata-live: the Teradata scenarios (deploy, rollback, conflicts over the join index, extract, BTEQ,
// and the checks only a live system can settle: test/teradata-live/production.live.ts) against a real Teradata system
// (Vantage Express, ClearScape Analytics Experience, or your own), once in TERA and once in ANSI mode. Not part of
// `npm test`: no system exists in CI. Refuses to run (exit 1, naming what is missing) unless
//   DBEE_TEST_TD_HOST, DBEE_TEST_TD_USER, DBEE_TEST_TD_PASSWORD   are set, and
//   bteq is on PATH (or DBEE_TEST_TD_BTEQ names it)                 for the BTEQ scenario.
// Optional: DBEE_TEST_TD_PERM (bytes of PERM space for the scratch databases, default 100000000),
// DBEE_TEST_TD_LOGMECH (TD2 default, LDAP...). See docs/teradata.md, "Running the live suite".
'use strict';
const { spawnSync } = require('node:child_process');
const { resolve } = require('node:path');

const missing = ['DBEE_TEST_TD_HOST', 'DBEE_TEST_TD_USER', 'DBEE_TEST_TD_PASSWORD'].filter((v) => !process.env[v]);
if (missing.length) {
  process.stderr.write(
    `error: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set: the live Teradata suite needs a system to run against\n` +
      '  hint: export DBEE_TEST_TD_HOST=<host> DBEE_TEST_TD_USER=<user> DBEE_TEST_TD_PASSWORD=<password> (a user with CREATE DATABASE rights), see docs/teradata.md\n',
  );
  process.exit(1);
}
const bteq = process.env.DBEE_TEST_TD_BTEQ || 'bteq';
const found = spawnSync(process.platform === 'win32' ? 'where' : 'which', [bteq], { encoding: 'utf8' });
if (found.status !== 0 && !require('node:fs').existsSync(bteq)) {
  process.stderr.write(
    `error: ${bteq} was not found: the BTEQ scenario needs BTEQ (Teradata Tools and Utilities)\n  hint: install TTU, put bteq on PATH or set DBEE_TEST_TD_BTEQ to its path\n`,
  );
  process.exit(1);
}
const root = resolve(__dirname, '..');
// The whole suite runs once per session mode: Teradata mode (TERA) and ANSI mode, where names compare
// case-specifically and every DDL needs a COMMIT. DBEE_TEST_TD_TMODE=TERA or ANSI runs one of them.
const modes = process.env.DBEE_TEST_TD_TMODE ? [process.env.DBEE_TEST_TD_TMODE.toUpperCase()] : ['TERA', 'ANSI'];
const bad = modes.filter((m) => m !== 'TERA' && m !== 'ANSI');
if (bad.length) {
  process.stderr.write(`error: DBEE_TEST_TD_TMODE=${bad[0]}: expected TERA or ANSI\n`);
  process.exit(1);
}
let failed = 0;
for (const tmode of modes) {
  process.stdout.write(`\n=== live Teradata suite, tmode ${tmode} ===\n`);
  const r = spawnSync(
    process.execPath,
    [
      resolve(root, 'node_modules/vitest/vitest.mjs'),
      'run',
      '--config',
      'test/teradata-live/vitest.config.ts',
      ...process.argv.slice(2),
    ],
    {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, DBEE_TEST_TD_BTEQ: bteq, DBEE_TEST_TD_TMODE: tmode },
    },
  );
  if (r.status !== 0) failed = r.status ?? 1;
}
process.exit(failed);
