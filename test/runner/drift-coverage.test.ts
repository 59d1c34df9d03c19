import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { managedScope } from '../../packages/core/src/schema/managed-scope';
import { fingerprint } from '../../packages/postgres/src/introspect/fingerprint';
import { run } from '../support/run';
import { dbYaml, ENGINES, workspaceWith, workspaceYaml, type TestWorkspace } from './helpers';

/**
 * Drift by fingerprint sees every setting the diff compares (issue 90): a column's statistics target, storage,
 * compression and options, a table's partition key and parents, a sequence's owner. The fingerprint a deployment
 * records (`pg4`) prints them; a hand edit of any of them is drift for `status` (and so for a deployment), and putting
 * it back by hand is no drift again. A deployment recorded by an earlier dbee (`pg3`, which printed none of them) is
 * compared in its own format: no drift is reported for what it never recorded.
 */
const FILES: Record<string, string> = {
  'lab/db.yaml': dbYaml('lab'),
  'lab/schema.sql': 'CREATE SCHEMA lab;\n',
  'lab/t.sql': 'CREATE TABLE lab.t (id int PRIMARY KEY, note text, wide text);\n',
  'lab/counter.sql': 'CREATE SEQUENCE lab.counter;\n',
  'lab/m.sql': 'CREATE TABLE lab.m (k int NOT NULL, v int) PARTITION BY RANGE (k);\n',
  'lab/parent.sql': 'CREATE TABLE lab.parent (id int, at timestamptz);\n',
  'lab/child.sql': 'CREATE TABLE lab.child (extra int) INHERITS (lab.parent);\n',
};

describe.each(ENGINES)('drift by fingerprint covers what the diff compares [%s]', (engine) => {
  let w: TestWorkspace;
  beforeAll(async () => {
    w = await workspaceWith(engine, { ...FILES, 'dbee.yaml': workspaceYaml(engine) });
    const r = await run(w.root, 'deploy', { project: 'lab' }, w.target.vars);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
  afterAll(async () => {
    await w?.remove();
  });

  /** The drift `status` reports: its state, and the objects it names. */
  const drift = async (): Promise<string> => {
    const r = await run(w.root, 'status', { project: 'lab', format: 'json' }, w.target.vars);
    expect(r.stderr).toBe('');
    const found = JSON.parse(r.stdout).drift as { state: string; objects: string[] };
    return found.state === 'yes' ? `yes: ${found.objects.join(', ')}` : found.state;
  };
  const execute = (sql: string) => w.target.execute(sql);

  it('a hand edit of each is drift; put back by hand, it is none', async () => {
    expect(await drift()).toBe('no');
    // Each edit, the object status names, and the edit that puts it back.
    const column = 'ALTER TABLE lab.t ALTER COLUMN note';
    const partitioned = 'DROP TABLE lab.m; CREATE TABLE lab.m (k int NOT NULL, v int) PARTITION BY';
    const edits: [string, string, string][] = [
      [`${column} SET STATISTICS 500`, 'table:lab.t', `${column} SET STATISTICS -1`],
      [`${column} SET STORAGE MAIN`, 'table:lab.t', `${column} SET STORAGE EXTENDED`],
      [`${column} SET COMPRESSION pglz`, 'table:lab.t', `${column} SET COMPRESSION DEFAULT`],
      [`${column} SET (n_distinct = 5)`, 'table:lab.t', `${column} RESET (n_distinct)`],
      [
        'ALTER SEQUENCE lab.counter OWNED BY lab.t.id',
        'sequence:lab.counter',
        'ALTER SEQUENCE lab.counter OWNED BY NONE',
      ],
      [`${partitioned} LIST (k)`, 'table:lab.m', `${partitioned} RANGE (k)`],
    ];
    for (const [edit, object, back] of edits) {
      await execute(edit);
      expect(await drift(), edit).toBe(`yes: ${object}`);
      await execute(back);
      expect(await drift(), back).toBe('no');
    }
    // Last: a table taken out of its parent (its columns become its own, which INHERIT does not undo).
    await execute('ALTER TABLE lab.child NO INHERIT lab.parent');
    expect(await drift()).toBe('yes: table:lab.child');
  });
});

describe.each(ENGINES)('a deployment recorded in the earlier format [%s]', (engine) => {
  it('is compared in its own format: what it never recorded is not drift; what it did record still is', async () => {
    const files = {
      ...FILES,
      // A setting the earlier format did not print, from the sources.
      'lab/t.sql':
        'CREATE TABLE lab.t (id int PRIMARY KEY, note text, wide text);\nALTER TABLE lab.t ALTER COLUMN note SET STATISTICS 300;\n',
    };
    const w = await workspaceWith(engine, { ...files, 'dbee.yaml': workspaceYaml(engine) });
    try {
      const r = await run(w.root, 'deploy', { project: 'lab' }, w.target.vars);
      expect(r.code).toBe(0);
      // What an earlier dbee recorded for the same schemas: the fingerprint in its format.
      const c = await w.target.connect();
      try {
        const [row] = (
          await c.query<{ id: number; summary: Record<string, unknown> }>(
            'SELECT id, summary FROM dbee.deployments ORDER BY id DESC LIMIT 1',
          )
        ).rows;
        const recorded = String(row!.summary.fingerprint);
        expect(recorded).toMatch(/^pg4:/);
        // The project's scope as a deployment reads it (no GRANT in its sources, db.yaml's defaults).
        const scope = { schemas: ['lab'], manage: managedScope(undefined, []) };
        expect(await fingerprint(c, scope)).toBe(recorded);
        const earlier = await fingerprint(c, scope, 'pg3:');
        expect(earlier).toMatch(/^pg3:/);
        // The earlier format does not print the statistics target: its lines differ from the recorded ones here.
        expect(earlier.split(':').slice(2)).not.toEqual(recorded.split(':').slice(2));
        const { positionFreeFingerprint: _, ...rest } = row!.summary;
        await c.query('UPDATE dbee.deployments SET summary = $1::jsonb WHERE id = $2', [
          JSON.stringify({ ...rest, fingerprint: earlier }),
          row!.id,
        ]);
        // A table outside the project moves the catalog version, so that the fingerprint is read again.
        await c.execute('CREATE TABLE public.unrelated (id int)');
      } finally {
        await c.close();
      }
      const status = async () => {
        const s = await run(w.root, 'status', { project: 'lab', format: 'json' }, w.target.vars);
        expect(s.stderr).toBe('');
        return JSON.parse(s.stdout).drift.state;
      };
      expect(await status()).toBe('no');
      // A change the earlier format prints is still drift.
      await w.target.execute('ALTER TABLE lab.t ADD COLUMN extra int');
      expect(await status()).toBe('yes');
    } finally {
      await w.remove();
    }
  });
});
