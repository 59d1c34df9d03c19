import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ENGINES, promotionWorkspace } from './helpers';

interface Received {
  path: string;
  body: Record<string, any>;
}

/** A local webhook server: `/ok/*` answers 204, `/fail` 500, `/hang` never answers (and notes when the client gives up). */
function webhookServer() {
  const received: Received[] = [];
  const abandoned: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      const path = req.url ?? '';
      received.push({ path, body: JSON.parse(text) });
      if (path.startsWith('/ok/')) res.writeHead(204).end();
      else if (path === '/fail') res.writeHead(500).end('no');
      else res.on('close', () => abandoned.push(path)); // /hang: no answer, ever
    });
  });
  return { server, received, abandoned, url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const SECRET = 'T0KEN-Sss3cret-in-the-url';

describe.each(ENGINES)('notifications [%s]', (engine) => {
  const hooks = webhookServer();
  const cleanups: (() => Promise<void>)[] = [];
  beforeAll(() => new Promise<void>((r) => hooks.server.listen(0, '127.0.0.1', r)));
  afterAll(async () => {
    hooks.server.closeAllConnections();
    await new Promise((r) => hooks.server.close(r));
    for (const c of cleanups) await c();
  });

  it('sends the events with the documented bodies; a hanging or failing webhook is a warning and a ledger note, never a failure', async () => {
    const ws = await promotionWorkspace(engine, ['qa']);
    cleanups.push(ws.cleanup);
    const yaml = readFileSync(join(ws.w.root, 'dbee.yaml'), 'utf8');
    ws.w.write(
      'dbee.yaml',
      yaml +
        [
          'notify:',
          '  - url: "${HOOK_URL}/ok/json/' + '${HOOK_TOKEN}"',
          '  - { url: "${HOOK_URL}/ok/slack", format: slack, events: [deploy-succeeded] }',
          '  - { url: "${HOOK_URL}/ok/teams", format: teams, events: [deploy-failed] }',
          '  - { url: "${HOOK_URL}/hang", timeout: 1s, retries: 0, events: [deploy-started] }',
          '  - { url: "${HOOK_URL}/fail", timeout: 2s, retries: 1, events: [deploy-succeeded] }',
          '',
        ].join('\n'),
    );
    const vars = { ...ws.vars('qa'), HOOK_URL: hooks.url(), HOOK_TOKEN: SECRET };
    const r = await ws.dbee('deploy', { project: 'a', env: 'qa', ticket: 'CHG-9' }, vars);
    expect(r.code, r.stderr).toBe(0);
    const json = hooks.received.filter((x) => x.path.startsWith('/ok/json/')).map((x) => x.body);
    expect(json.map((b) => b.event)).toEqual(['deploy-started', 'deploy-succeeded']);
    expect(json[0]).toMatchObject({
      formatVersion: 1,
      projects: ['a'],
      environment: 'qa',
      ticket: 'CHG-9',
      package: null,
      result: 'started',
      exitCode: null,
    });
    expect(json[0]!.steps).toEqual([
      { order: 1, project: 'a', object: 'schema:a', action: 'create', status: 'planned' },
      { order: 2, project: 'a', object: 'table:a.t', action: 'create', status: 'planned' },
    ]);
    expect(json[1]).toMatchObject({
      event: 'deploy-succeeded',
      result: 'succeeded',
      exitCode: 0,
      ticket: 'CHG-9',
      deployments: [1],
      smoke: 'a 2/2 passed',
      error: null,
    });
    expect(json[1]!.steps.map((s: { status: string }) => s.status)).toEqual(['applied', 'applied']);
    expect(json[1]!.who.osUser).toBeTruthy();
    expect(Object.keys(json[1]!).sort()).toEqual([
      'at',
      'commit',
      'database',
      'deployments',
      'environment',
      'error',
      'event',
      'exitCode',
      'formatVersion',
      'package',
      'planChecksum',
      'projects',
      'result',
      'smoke',
      'steps',
      'ticket',
      'who',
    ]);
    const slack = hooks.received.filter((x) => x.path === '/ok/slack').map((x) => x.body);
    expect(slack).toHaveLength(1);
    expect(slack[0]!.text).toContain('*dbee: a on qa: deployment succeeded*');
    expect(slack[0]!.text).toContain('• ticket: CHG-9');
    expect(hooks.received.filter((x) => x.path === '/ok/teams')).toHaveLength(0);
    // The hanging webhook was given up (the client closed the request), the failing one tried twice.
    expect(hooks.abandoned).toEqual(['/hang']);
    expect(hooks.received.filter((x) => x.path === '/fail')).toHaveLength(2);
    expect(r.stderr).toMatch(
      /warning: notification deploy-started to notify\[3\] \(127\.0\.0\.1:\d+\) failed: no answer within 1s; the deployment is not affected/,
    );
    expect(r.stderr).toContain('failed: HTTP 500 after 2 attempts');
    const [row] = await ws.query<{ summary: unknown }>('qa', 'SELECT summary FROM dbee.deployments WHERE id = 1');
    const summary = (typeof row!.summary === 'string' ? JSON.parse(row!.summary) : row!.summary) as {
      notifications: { event: string }[];
    };
    expect(summary.notifications.map((n) => n.event).sort()).toEqual(['deploy-started', 'deploy-succeeded']);
    // The webhook's token is in no output, body or ledger row.
    expect(JSON.stringify([r.stdout, r.stderr, summary, hooks.received.map((x) => x.body)])).not.toContain(SECRET);

    // A failed smoke check: deploy-failed and smoke-failed, the Teams card.
    hooks.received.length = 0;
    await ws.query('qa', 'CREATE TABLE public.smoke_blocker (id int)');
    ws.w.write('a/u.sql', 'CREATE TABLE a.u (id int);');
    const failed = await ws.dbee('deploy', { project: 'a', env: 'qa' }, vars);
    expect(failed.code).toBe(3);
    const events = hooks.received.filter((x) => x.path.startsWith('/ok/json/')).map((x) => x.body);
    expect(events.map((b) => b.event).sort()).toEqual(['deploy-failed', 'deploy-started', 'smoke-failed']);
    expect(events.find((b) => b.event === 'smoke-failed')).toMatchObject({
      result: 'failed',
      exitCode: 3,
      error: { code: 'SMOKE_FAILED' },
    });
    const teams = hooks.received.filter((x) => x.path === '/ok/teams').map((x) => x.body);
    expect(teams).toHaveLength(1);
    expect(teams[0]).toMatchObject({ '@type': 'MessageCard', title: 'dbee: a on qa: deployment FAILED' });
    expect(teams[0]!.sections[0].facts).toContainEqual({ name: 'result', value: 'failed (exit 3)' });
  });

  it('a rollback sends rolled-back, and status sends drift-found when the schemas changed outside dbee', async () => {
    const ws = await promotionWorkspace(engine, ['qa']);
    cleanups.push(ws.cleanup);
    ws.w.write(
      'dbee.yaml',
      readFileSync(join(ws.w.root, 'dbee.yaml'), 'utf8') +
        'notify:\n  - { url: "${HOOK_URL}/ok/second", events: [rolled-back, drift-found] }\n',
    );
    const vars = { ...ws.vars('qa'), HOOK_URL: hooks.url() };
    const second = () => hooks.received.filter((x) => x.path === '/ok/second').map((x) => x.body);
    expect((await ws.dbee('deploy', { project: 'a', env: 'qa' }, vars)).code).toBe(0);
    const undone = await ws.dbee('rollback', { project: 'a', env: 'qa', ticket: 'INC-5' }, vars);
    expect(undone.code, undone.stderr).toBe(0);
    expect(second()).toEqual([
      expect.objectContaining({
        event: 'rolled-back',
        result: 'rolled-back',
        exitCode: 0,
        ticket: 'INC-5',
        deployments: [2],
      }),
    ]);
    expect(second()[0]!.steps.map((s: { object: string }) => s.object)).toEqual(['table:a.t', 'schema:a']);
    expect((await ws.dbee('deploy', { project: 'a', env: 'qa' }, vars)).code).toBe(0);
    expect((await ws.dbee('status', { project: 'a', env: 'qa' }, vars)).code).toBe(0);
    expect(second()).toHaveLength(1);
    await ws.query('qa', 'CREATE TABLE a.by_hand (id int)');
    const status = await ws.dbee('status', { project: 'a', env: 'qa' }, vars);
    expect(status.stdout).toContain('drift: yes');
    expect(second()[1]).toMatchObject({
      event: 'drift-found',
      result: 'drift',
      projects: ['a'],
      environment: 'qa',
      deployments: [3],
    });
  });
});
