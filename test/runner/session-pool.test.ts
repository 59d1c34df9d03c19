import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { SessionPool } from '@dbee/core';
import { runDbeeCommand } from '@dbee/cli';
import { dbYaml, ENGINES, workspaceWith, type TestWorkspace } from './helpers';

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

/** A project whose migration records the session settings it ran under. */
const project = (name: string, deploy = '') => ({
  [`${name}/db.yaml`]: dbYaml(name, deploy),
  [`${name}/s.sql`]: `CREATE SCHEMA ${name};\n`,
  [`${name}/migrations/V1__seen.sql`]: `CREATE TABLE ${name}.seen AS SELECT current_setting('lock_timeout') AS lock_timeout, current_setting('statement_timeout') AS statement_timeout, current_setting('application_name') AS app;\n`,
  [`${name}/migrations/V1__seen.rollback.sql`]: `DROP TABLE ${name}.seen;\n`,
});

describe.each(ENGINES)('a batch session pool gives each project its own session settings [%s]', (engine) => {
  it('project a (lockTimeout 777ms, statementTimeout 9s) then b (none) through one pool: b runs with the defaults', async () => {
    const w = await workspaceWith(engine, {
      ...project('a', 'deploy:\n  lockTimeout: 777ms\n  statementTimeout: 9s\n'),
      ...project('b'),
    });
    workspaces.push(w);
    let out = '';
    const sink = new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) });
    const pool = new SessionPool();
    try {
      for (const name of ['a', 'b']) {
        const code = await runDbeeCommand(
          'deploy',
          { project: name },
          {
            workspaceRoot: w.root,
            stdout: sink,
            stderr: sink,
            env: { ...process.env, ...w.target.vars },
            interactive: false,
            fromNx: true,
            sessions: pool,
          },
        );
        expect(code, out).toBe(0);
      }
    } finally {
      await pool.close();
    }
    expect(await w.target.query('SELECT lock_timeout, statement_timeout FROM a.seen')).toEqual([
      { lock_timeout: '777ms', statement_timeout: '9s' },
    ]);
    expect(await w.target.query('SELECT lock_timeout, statement_timeout FROM b.seen')).toEqual([
      { lock_timeout: '0', statement_timeout: '0' },
    ]);
    if (engine === 'postgres') {
      // The pooled connection is marked as the lock holder's working session once, and stays marked for b: a later
      // lock taker can still tell this batch's work from a dead deployment's.
      const apps = await w.target.query<{ app: string }>('SELECT app FROM a.seen UNION ALL SELECT app FROM b.seen');
      expect(apps.map((r) => r.app.split(' ')[0])).toEqual(['dbee-run', 'dbee-run']);
    }
  });

  it('records the fingerprint of each deployment when the pool closes, in one catalog query: the one status then reads', async () => {
    const w = await workspaceWith(engine, { ...project('c'), ...project('d') });
    workspaces.push(w);
    let out = '';
    const sink = new Writable({ write: (chunk, _e, cb) => ((out += String(chunk)), cb()) });
    const io = {
      workspaceRoot: w.root,
      stdout: sink,
      stderr: sink,
      env: { ...process.env, ...w.target.vars },
      interactive: false,
      fromNx: true,
    };
    const recorded = () =>
      w.target.query<{ project: string; fingerprint: string | null }>(
        `SELECT project, summary::jsonb ->> 'fingerprint' AS fingerprint FROM dbee.deployments ORDER BY id`,
      );
    const pool = new SessionPool();
    try {
      for (const name of ['c', 'd'])
        expect(await runDbeeCommand('deploy', { project: name }, { ...io, sessions: pool }), out).toBe(0);
      // Not yet: the batch reads them all at its end.
      expect(await recorded()).toEqual([
        { project: 'c', fingerprint: null },
        { project: 'd', fingerprint: null },
      ]);
    } finally {
      await pool.close();
    }
    const rows = await recorded();
    expect(rows.map((r) => r.project)).toEqual(['c', 'd']);
    for (const r of rows) expect(r.fingerprint).toMatch(/^pg4:\d+\.\d+:\d+:[0-9a-f]{32}$/);
    expect(rows[0]!.fingerprint).not.toBe(rows[1]!.fingerprint);
    for (const name of ['c', 'd']) {
      out = '';
      expect(await runDbeeCommand('status', { project: name }, io), out).toBe(0);
      expect(out).toContain('drift: no');
    }
    // A change outside dbee is seen against the recorded fingerprint.
    await w.target.query('ALTER TABLE c.seen ADD COLUMN hotfix integer');
    out = '';
    await runDbeeCommand('status', { project: 'c' }, io);
    expect(out).toMatch(/drift: yes/);
  });
});
