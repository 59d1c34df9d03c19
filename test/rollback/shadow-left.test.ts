import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import type { ResolvedEnvironment } from '@dbee/core';
import { createPostgresEngine } from '@dbee/postgres';
import { createDatabase, queryUrl, SERVER_URL } from '../support/pg';

/**
 * Issue 71: a run killed while its scratch database exists on the server (`shadow: server`: a dry run's copy, the
 * rollback test's) left a `dbee_shadow_*` database that no later command removed or named. Its name now records when
 * and by which process it was made, its comment the host: the next command that makes a scratch database on that
 * server drops it once that process is gone.
 */
const target = `dbee_shadow_left_${process.pid}`;
const exists = async (name: string) =>
  (await queryUrl(SERVER_URL, 'SELECT 1 FROM pg_database WHERE datname = $1', [name])).length > 0;
const sessionsOn = async (name: string) =>
  (await queryUrl(SERVER_URL, 'SELECT 1 FROM pg_stat_activity WHERE datname = $1', [name])).length;

describe('a scratch database left on the server by a killed run', () => {
  afterAll(async () => {
    await queryUrl(SERVER_URL, `DROP DATABASE IF EXISTS ${target} WITH (FORCE)`);
  });

  it('is removed by the next command that makes one', async () => {
    const url = await createDatabase(target);
    // A process that opens a server shadow, says its name, and waits to be killed.
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const { createPostgresEngine } = require('@dbee/postgres');
         createPostgresEngine().diff.openShadow('server', { name: 't', connection: { url: ${JSON.stringify(url)} } }, { workspaceRoot: process.cwd(), roles: [] })
           .then((s) => { console.log(/\\(shadow (dbee_shadow_\\w+)\\)/.exec(s.conn.description)[1]); setInterval(() => {}, 1000); });`,
      ],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const name = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d) => resolve(String(d).trim()));
      child.on('exit', (code) => reject(new Error(`the child ended (${code}) before opening its shadow`)));
    });
    expect(name).toMatch(/^dbee_shadow_[0-9a-z]+_\d+_[0-9a-f]{6}_[0-9a-f]{6}$/);
    const dead = child.pid!;
    const ended = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await ended;
    // A killed run is one whose session the server has ended too: on a loaded machine its backend notices the closed
    // socket a moment later, and a scratch database with a session is never taken for a left one.
    for (let i = 0; i < 300 && (await sessionsOn(name)) > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await exists(name)).toBe(true);

    const environment = { name: 'test', connection: { url } } as unknown as ResolvedEnvironment;
    const next = await createPostgresEngine().diff!.openShadow('server', environment, {
      workspaceRoot: process.cwd(),
      roles: [],
    });
    try {
      expect(await exists(name)).toBe(false);
    } finally {
      await next.dispose();
    }

    // Issue 89: killed during its CREATE DATABASE, before the comment that names the host: its name names the host
    // too, so the next command removes it at once (not only once it is 10 minutes old).
    const host = /^dbee_shadow_[0-9a-z]+_\d+_([0-9a-f]{6})_/.exec(name)![1];
    const uncommented = `dbee_shadow_${Math.floor(Date.now() / 1000).toString(36)}_${dead}_${host}_abcdef`;
    await createDatabase(uncommented);
    expect(await exists(uncommented)).toBe(true);
    // The shadow before it was kept for the next command of this process: taking it removes what was left too.
    const after = await createPostgresEngine().diff!.openShadow('server', environment, {
      workspaceRoot: process.cwd(),
      roles: [],
    });
    try {
      expect(await exists(uncommented)).toBe(false);
    } finally {
      await after.dispose();
      await createPostgresEngine().release!();
    }
  });
});
