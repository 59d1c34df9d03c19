import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { PgliteConnection } from '@dbee/postgres';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';
import { EMBEDDED_LOCAL_YAML } from './workspace';

/**
 * `deploy.backfill` (batchSize, maxBatchSize, pause, targetBatch, walPerBatch, walPerSecond) reaches the
 * expand/contract strategy's backfill: a fixed size of 100 rows (targetBatch 0) backfills 1,050 rows in 11 batches,
 * as the ledger records them; the dry run prints the pace.
 */
const WS = EMBEDDED_LOCAL_YAML;
const project = (backfill: string) =>
  `version: 1\nname: s\nengine: postgres\nschemas: [s]\ndeploy:\n  backfill: ${backfill}\n`;

describe('the expand backfill settings', () => {
  const w = tempWorkspace({
    'dbee.yaml': WS,
    's/db.yaml': project('{ batchSize: 100, targetBatch: 0, pause: 1ms }'),
    's/schema.sql': 'CREATE SCHEMA s;',
    's/t.sql': 'CREATE TABLE s.t (id int PRIMARY KEY, a int NOT NULL);',
  });
  const q = async (sql: string) => {
    const c = await PgliteConnection.open(join(w.root, '.dbee', 'local'), 't');
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.close();
    }
  };
  const dbee = (command: 'deploy', extra: Record<string, unknown> = {}) =>
    run(w.root, command, { project: 's', env: 'local', ...extra });
  afterAll(() => w.remove());

  it('a fixed batch size of 100 backfills 1,050 rows in 11 batches', async () => {
    expect((await dbee('deploy')).code).toBe(0);
    await q('INSERT INTO s.t SELECT g, g FROM generate_series(1, 1050) g');
    w.write('s/t.sql', 'CREATE TABLE s.t (id int PRIMARY KEY, a bigint NOT NULL);');

    const dry = await dbee('deploy', { strategy: 'expand-contract', dryRun: true });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(
      'in keyset batches (first batch 100 rows, fixed size, at most 16 MB of WAL per second, 1 ms pause between batches)',
    );

    const expanded = await dbee('deploy', { strategy: 'expand-contract' });
    expect(expanded.stderr).not.toMatch(/error/);
    expect(expanded.code).toBe(0);
    expect(await q('SELECT done, total, batches, batch_size, status FROM dbee.backfills')).toEqual([
      { done: 1050, total: 1050, batches: 11, batch_size: 100, status: 'done' },
    ]);
  });

  it('a bad value is refused with its file and line (exit 1)', async () => {
    w.write('s/db.yaml', project('{ batchSize: 0, pause: soon }'));
    const r = await dbee('deploy', { strategy: 'expand-contract' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/s\/db\.yaml:6/);
    expect(r.stderr).toMatch(/backfill/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('the expand backfill WAL bounds', () => {
  const w = tempWorkspace({
    'dbee.yaml': WS,
    's/db.yaml': project('{ walPerBatch: 32kB, walPerSecond: 8MB }'),
    's/schema.sql': 'CREATE SCHEMA s;',
    's/t.sql': 'CREATE TABLE s.t (id int PRIMARY KEY, a int NOT NULL);',
  });
  const dbee = (command: 'deploy', extra: Record<string, unknown> = {}) =>
    run(w.root, command, { project: 's', env: 'local', ...extra });
  afterAll(() => w.remove());

  it('the WAL bounds: the defaults, set, or none', async () => {
    expect((await dbee('deploy')).code).toBe(0);
    w.write('s/t.sql', 'CREATE TABLE s.t (id int PRIMARY KEY, a bigint NOT NULL);');
    w.write('s/db.yaml', project('{ walPerBatch: 32kB, walPerSecond: 8MB }'));
    const set = await dbee('deploy', { strategy: 'expand-contract', dryRun: true });
    expect(set.stdout).toContain(
      'in keyset batches (first batch 1,000 rows, size adapted toward 10 ms per batch and 32 kB of WAL, at most 8 MB of WAL per second)',
    );
    w.write('s/db.yaml', project('{ walPerBatch: 0, walPerSecond: 0, pause: 10ms }'));
    const none = await dbee('deploy', { strategy: 'expand-contract', dryRun: true });
    expect(none.stdout).toContain(
      'in keyset batches (first batch 1,000 rows, size adapted toward 10 ms per batch, 10 ms pause between batches)',
    );
    w.write('s/db.yaml', 'version: 1\nname: s\nengine: postgres\nschemas: [s]\n');
    const defaults = await dbee('deploy', { strategy: 'expand-contract', dryRun: true });
    expect(defaults.stdout).toContain(
      'in keyset batches (first batch 1,000 rows, size adapted toward 10 ms per batch and 64 kB of WAL, at most 16 MB of WAL per second)',
    );
    w.write('s/db.yaml', project('{ walPerSecond: fast }'));
    const bad = await dbee('deploy', { strategy: 'expand-contract' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/s\/db\.yaml:6/);
    expect(bad.stderr).toMatch(/amount of bytes/);
  });
});
