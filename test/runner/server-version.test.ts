import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgConnection, checkServerVersion } from '@dbee/postgres';
import { DbeeError } from '@dbee/core';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';
import { SERVER_URL } from '../support/pg';

/**
 * A server that speaks just enough of PostgreSQL's protocol (frontend/backend protocol 3.0, "Message Flow: Start-up")
 * to open a session as an old server would: AuthenticationOk, ParameterStatus server_version, BackendKeyData,
 * ReadyForQuery. It records every message a client sends after the start-up packet, so a test can tell that nothing
 * was run on it, and answers a query (or an extended-protocol Sync) with an error, so a client that goes on fails
 * at once instead of waiting.
 */
function oldServer(version: string): Promise<{ server: Server; port: number; received: string[] }> {
  const received: string[] = [];
  const message = (type: string, body: Buffer) => {
    const head = Buffer.alloc(5);
    head.write(type, 0, 'latin1');
    head.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([head, body]);
  };
  const int32 = (...n: number[]) => {
    const b = Buffer.alloc(4 * n.length);
    n.forEach((x, i) => b.writeInt32BE(x, 4 * i));
    return b;
  };
  const server = createServer((socket: Socket) => {
    let started = false;
    let buffered = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!started) {
        if (buffered.length < 4 || buffered.length < buffered.readInt32BE(0)) return;
        buffered = buffered.subarray(buffered.readInt32BE(0));
        started = true;
        socket.write(
          Buffer.concat([
            message('R', int32(0)),
            message('S', Buffer.from(`server_version\0${version}\0`, 'utf8')),
            message('S', Buffer.from('client_encoding\0UTF8\0', 'utf8')),
            message('K', int32(4242, 1)),
            message('Z', Buffer.from('I', 'latin1')),
          ]),
        );
      }
      while (buffered.length >= 5 && buffered.length >= 1 + buffered.readInt32BE(1)) {
        const type = String.fromCharCode(buffered[0]!);
        received.push(type);
        if (type === 'Q' || type === 'S') {
          socket.write(
            Buffer.concat([
              message('E', Buffer.from('SERROR\0C0A000\0Mthis test server runs no statements\0\0', 'utf8')),
              message('Z', Buffer.from('I', 'latin1')),
            ]),
          );
        }
        buffered = buffered.subarray(1 + buffered.readInt32BE(1));
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, port: (server.address() as { port: number }).port, received }),
    ),
  );
}

describe('PostgreSQL server version', () => {
  let old: Awaited<ReturnType<typeof oldServer>>;
  beforeAll(async () => {
    old = await oldServer('13.16 (Debian 13.16-1.pgdg120+1)');
  });
  afterAll(() => new Promise<void>((resolve) => old.server.close(() => resolve())));

  it('reads the major version as servers report it, and lets through 14 and later and what it cannot read', () => {
    for (const v of ['14.0', '15.20 (Debian 15.20-0+deb12u1)', '17.5', '18beta1', '', 'unknown'])
      expect(() => checkServerVersion(v, 'environment x')).not.toThrow();
    expect(() => checkServerVersion(undefined, 'environment x')).not.toThrow();
    for (const v of ['13.16 (Debian 13.16-1)', '12.22', '9.6.24']) {
      const e = (() => {
        try {
          checkServerVersion(v, 'environment x');
        } catch (error) {
          return error;
        }
      })();
      expect(e).toBeInstanceOf(DbeeError);
      expect((e as DbeeError).code).toBe('SERVER_TOO_OLD');
      expect((e as DbeeError).message).toBe(
        `environment x is PostgreSQL ${v.split(' ')[0]}; dbee needs PostgreSQL 14 or later`,
      );
    }
  });

  it("opens a session on this machine's server (15) as before", async () => {
    const c = await PgConnection.open({ connectionString: SERVER_URL }, 'the test server');
    expect((await c.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version).toMatch(
      /^1[5-9]/,
    );
    await c.close();
  });

  it('refuses a PostgreSQL 13 server as the session opens: exit code 1, the version named, no statement sent', async () => {
    const before = old.received.length;
    const e = await PgConnection.open(
      { host: '127.0.0.1', port: old.port, user: 'u', database: 'd' },
      'environment old',
    ).then(
      () => null,
      (error: unknown) => error,
    );
    expect(e).toBeInstanceOf(DbeeError);
    expect((e as DbeeError).exitCode).toBe(1);
    expect((e as DbeeError).message).toBe('environment old is PostgreSQL 13.16; dbee needs PostgreSQL 14 or later');
    // Only the client's Terminate ('X') reached the server: no query, no lock, no ledger.
    await expect.poll(() => old.received.slice(before)).toEqual(['X']);
  });

  it('dbee deploy to it stops with exit code 1 and says what to do, without a stack trace', async () => {
    const w = tempWorkspace({
      'dbee.yaml':
        'version: 1\ndefaultEnvironment: old\nenvironments:\n  old:\n    engine: postgres\n    connection:\n      url: ${DBEE_OLD_URL}\n',
      'db/db.yaml': 'version: 1\nname: shop\nengine: postgres\nschemas: [shop]\n',
      'db/schema/shop/schema.sql': 'CREATE SCHEMA shop;\n',
    });
    try {
      const before = old.received.length;
      const r = await run(
        w.root,
        'deploy',
        { project: 'shop', env: 'old' },
        { DBEE_OLD_URL: `postgres://u@127.0.0.1:${old.port}/d` },
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('is PostgreSQL 13.16; dbee needs PostgreSQL 14 or later');
      expect(r.stderr).toContain('nothing was changed on it; upgrade the server');
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(old.received.slice(before).filter((m) => m !== 'X')).toEqual([]);
    } finally {
      w.remove();
    }
  });
});
