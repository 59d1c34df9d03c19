import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { SERVER_URL } from '../diff/helpers';
import { copyExamples } from './targets';

/** A TCP server on a free loopback port that counts the connections it is opened and lets `serve` answer each. */
async function listen(
  serve: (socket: Socket, n: number) => void,
): Promise<{ url: (db: string) => string; count(): number; close(): Promise<void> }> {
  let n = 0;
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    serve(socket, ++n);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: (db) => `postgres://postgres@127.0.0.1:${port}/${db}`,
    count: () => n,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** PostgreSQL's answer to a startup message while it starts: FATAL 57P03, then the end of the connection. */
function startingUp(socket: Socket): void {
  const field = (type: string, value: string) => Buffer.concat([Buffer.from(type), Buffer.from(value + '\0')]);
  const body = Buffer.concat([
    field('S', 'FATAL'),
    field('V', 'FATAL'),
    field('C', '57P03'),
    field('M', 'the database system is starting up'),
    Buffer.from('\0'),
  ]);
  const length = Buffer.alloc(4);
  length.writeInt32BE(body.length + 4);
  socket.once('data', () => socket.end(Buffer.concat([Buffer.from('E'), length, body])));
}

/** Every byte both ways between `socket` and the test server. */
function forward(socket: Socket): void {
  const { hostname, port } = new URL(SERVER_URL);
  const upstream = connect(Number(port || 5432), hostname);
  upstream.on('error', () => socket.destroy());
  socket.pipe(upstream).pipe(socket);
}

describe('connecting to a server: connectTimeout, retries with backoff, its own error [postgres]', () => {
  let root: string;
  let yaml: string;
  const servers: { close(): Promise<void> }[] = [];

  beforeAll(() => {
    root = copyExamples('dbee-connect-');
    yaml = readFileSync(join(root, 'dbee.yaml'), 'utf8');
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    rmSync(root, { recursive: true, force: true });
  });

  /** dbee.yaml with an environment `far` at `url` and the given settings (YAML lines under it). */
  const withEnvironment = (url: string, settings: string) =>
    writeFileSync(
      join(root, 'dbee.yaml'),
      yaml.replace(
        'environments:\n',
        `environments:\n  far:\n    engine: postgres\n${settings}    connection:\n      url: ${url}\n`,
      ),
    );

  it('a server that does not answer within connectTimeout is tried again, then said as a timeout, nothing done', async () => {
    const silent = await listen(() => {}); // accepts, never answers
    servers.push(silent);
    withEnvironment(silent.url('app'), '    connectTimeout: 300ms\n    connectRetries: 1\n');
    const r = await run(root, 'status', { project: 'sales', env: 'far' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('environment far');
    expect(r.stderr).toContain('no answer within 0.3 s (2 attempts); nothing was done');
    expect(r.stderr).toMatch(/hint: .*raise the environment's connectTimeout \(now 0\.3 s\) or connectRetries/);
    expect(silent.count()).toBe(2);
  });

  it('a server still starting up is tried again until it takes the session', async () => {
    const flaky = await listen((socket, n) => (n < 3 ? startingUp(socket) : forward(socket)));
    servers.push(flaky);
    withEnvironment(flaky.url('postgres'), '');
    const r = await run(root, 'status', { project: 'sales', env: 'far' });
    expect(r.stderr).not.toContain('cannot connect');
    expect(r.code).toBe(0);
    expect(flaky.count()).toBeGreaterThanOrEqual(3);
  });

  it('a failure the settings cause (a database that does not exist) is not tried again', async () => {
    const proxy = await listen((socket) => forward(socket));
    servers.push(proxy);
    withEnvironment(proxy.url('dbee_no_such_database'), '    connectRetries: 3\n');
    const r = await run(root, 'status', { project: 'sales', env: 'far' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('database "dbee_no_such_database" does not exist');
    expect(proxy.count()).toBe(1);
  });

  it('a connectTimeout that is not a duration is refused with its line', async () => {
    withEnvironment('postgres://127.0.0.1:1/x', '    connectTimeout: soon\n');
    const r = await run(root, 'status', { project: 'sales', env: 'far' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/dbee\.yaml:\d+:\d+: .*connectTimeout.*expected a duration/);
  });
});
