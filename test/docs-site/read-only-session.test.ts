import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSession, type ResolvedEnvironment } from '@dbee/core';
import { createPostgresEngine } from '@dbee/postgres';
import { scratchDatabase } from '../support/pg';

/**
 * `withSession({ readOnly: true })`, the sessions of the release board (`dbee docs --env`): the server refuses a write
 * on them, reads still answer, and the setting does not outlive the session (an embedded database and a server one).
 */
describe('a read-only session [postgres]', () => {
  const engine = createPostgresEngine();
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  const root = mkdtempSync(join(tmpdir(), 'dbee-ro-'));
  beforeAll(async () => {
    db = await scratchDatabase('dbee_ro_session');
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(root, { recursive: true, force: true });
  });

  const environment = (connection: Record<string, string>): ResolvedEnvironment => ({
    name: 'ro',
    engine: 'postgres',
    connection,
    variables: {},
    gates: {} as ResolvedEnvironment['gates'],
    deploy: {},
    declaredAt: { file: 'dbee.yaml' },
  });

  it('refuses a write on a server and on an embedded database and answers reads; without readOnly the write runs', async () => {
    for (const env of [environment({ url: db.url }), environment({ embedded: join(root, 'data') })]) {
      const write = (readOnly: boolean) =>
        withSession({ engine, environment: env, workspaceRoot: root, readOnly }, async ({ conn }) => {
          expect((await conn.query<{ n: number }>('SELECT 1 AS n')).rows).toEqual([{ n: 1 }]);
          await conn.execute('CREATE TABLE IF NOT EXISTS public.probe (id int)');
        });
      await expect(write(true)).rejects.toThrow(/read-only transaction/);
      await write(false);
    }
  });
});
