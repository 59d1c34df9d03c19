import { describe, expect, it, onTestFinished } from 'vitest';
import type { Connection } from '@dbee/core';
import { readOnce } from '../../packages/core/src/engine/read-once';
import { ENGINES, workspaceWith } from '../runner/helpers';

/**
 * The connection of an Nx batch's at-start read of every project's work in flight (engine/read-once.ts): a SELECT asked
 * again with the same text and parameters is answered once, and a write in between makes the next read go to the
 * database again, so the pass never answers from before what it changed.
 */
describe.each(ENGINES)('readOnce [%s]', (engine) => {
  /** A connection to a fresh database, and the requests sent through it (a pass-through, not a stand-in). */
  async function counted(): Promise<{ conn: Connection; sent: string[] }> {
    const w = await workspaceWith(engine, {});
    onTestFinished(() => w.remove());
    const real = await w.target.connect();
    onTestFinished(() => real.close());
    const sent: string[] = [];
    const conn: Connection = {
      ...real,
      description: real.description,
      query: (sql, params) => {
        sent.push(sql);
        return real.query(sql, params);
      },
      execute: (sql) => {
        sent.push(sql);
        return real.execute(sql);
      },
      transaction: (fn) => real.transaction(fn),
      close: () => real.close(),
    };
    return { conn, sent };
  }

  it('sends a repeated SELECT once, and each different one', async () => {
    const { conn, sent } = await counted();
    const once = readOnce(conn);
    const exists = 'SELECT to_regclass($1)::text AS t';
    const answers = await Promise.all(
      ['a.t', 'a.t', 'b.t', 'a.t'].map(async (t) => (await once.query(exists, [t])).rows[0]),
    );
    expect(answers).toEqual([{ t: null }, { t: null }, { t: null }, { t: null }]);
    expect(sent).toEqual([exists, exists]);
  });

  it('reads again after a write: what the pass changed is never answered from before', async () => {
    const { conn, sent } = await counted();
    const once = readOnce(conn);
    const exists = 'SELECT to_regclass($1)::text AS t';
    expect((await once.query(exists, ['s.t'])).rows[0]).toEqual({ t: null });
    await once.execute('CREATE SCHEMA s; CREATE TABLE s.t (id int)');
    expect((await once.query(exists, ['s.t'])).rows[0]).toEqual({ t: 's.t' });
    await once.query('INSERT INTO s.t VALUES (1)');
    const count = 'SELECT count(*)::int AS n FROM s.t';
    expect((await once.query(count)).rows[0]).toEqual({ n: 1 });
    await once.query('INSERT INTO s.t VALUES (2)');
    expect((await once.query(count)).rows[0]).toEqual({ n: 2 });
    expect(sent.filter((s) => s === exists)).toHaveLength(2);
  });
});
