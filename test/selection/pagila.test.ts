import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { ENGINES, rows, workspaceWith, type TestWorkspace } from '../runner/helpers';
import { pagilaSources } from './pagila';

/**
 * Object selection on Pagila's real schema (issue #71): what a selected object needs is what it reads and calls, not
 * what the tables it reads reference; a rollback of one object that had no earlier version is refused while
 * something stands on it (a function whose body calls it: the catalog records nothing), or takes that along.
 */
let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

const FUNCTIONS = ['film_in_stock', 'film_not_in_stock', 'inventory_held_by_customer', 'inventory_in_stock'];

describe.each(ENGINES)('selection and rollback of objects on Pagila [%s]', (engine) => {
  it('needs what a function reads, not the foreign keys of what it reads; rolls back a callee only with its callers', async () => {
    const w = await workspaceWith(engine, pagilaSources());
    workspaces.push(w);
    const dbee = (command: 'deploy' | 'rollback', options: Record<string, unknown> = {}) =>
      run(w.root, command, { project: 'pl', assumeYes: true, ...options }, w.target.vars);
    const deploy = (options: Record<string, unknown> = {}) => dbee('deploy', { countdownFrom: 0, ...options });
    const functions = async () =>
      (
        await rows(
          w.target,
          `SELECT proname FROM pg_proc WHERE pronamespace = 'pl'::regnamespace AND proname = ANY('{${FUNCTIONS}}') ORDER BY 1`,
        )
      ).map((r) => r.proname);
    const deployments = async () =>
      Number((await rows(w.target, 'SELECT count(*)::int AS n FROM dbee.deployments'))[0]!.n);
    const first = await deploy();
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);

    // The first deployment created inventory_in_stock: its undo drops it, and two functions call it in their bodies.
    const before = await deployments();
    for (const dryRun of [true, false]) {
      const alone = await dbee('rollback', { objects: ['function:pl.inventory_in_stock'], dryRun });
      expect(alone.code).toBe(1);
      expect(alone.stderr).toContain(
        'function:pl.inventory_in_stock(integer) cannot be rolled back alone: function:pl.film_in_stock(integer,integer), function:pl.film_not_in_stock(integer,integer) stand on it',
      );
      expect(alone.stderr).toContain('--with-dependents');
    }
    expect(await deployments()).toBe(before);
    expect(await functions()).toEqual(FUNCTIONS);
    const taken = await dbee('rollback', { objects: ['function:pl.inventory_in_stock'], withDependents: true });
    expect(taken.stderr).toBe('');
    expect(taken.code).toBe(0);
    expect(taken.stdout).toContain(
      'with what stands on them (--with-dependents): function:pl.film_in_stock(integer,integer), function:pl.film_not_in_stock(integer,integer)',
    );
    expect(await functions()).toEqual(['inventory_held_by_customer']);

    // film gets a column and film_in_stock a new body: the function reads inventory, whose foreign key references
    // film; it needs the callee it calls (pending again), never film's new column.
    const file = join(w.root, 'pl/schema/pl/pagila.sql');
    const original = readFileSync(file, 'utf8');
    const changed = (body: string) =>
      original
        .replace('    special_features text[],', '    special_features text[],\n    note text,')
        .replace('     WHERE film_id = $1\n', `     WHERE film_id = $1 AND ${body}\n`);
    w.write('pl/schema/pl/pagila.sql', changed('true'));
    const refused = await deploy({ objects: ['function:pl.film_in_stock'] });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'function:pl.film_in_stock(integer,integer) needs function:pl.inventory_in_stock(integer), pending and not selected',
    );
    expect(refused.stderr).not.toContain('table:pl.film');
    const selected = await deploy({ objects: ['function:pl.film_in_stock'], withNeeded: true });
    expect(selected.stderr).toBe('');
    expect(selected.code).toBe(0);
    expect(await functions()).toEqual(['film_in_stock', 'inventory_held_by_customer', 'inventory_in_stock']);
    const columns = await rows(
      w.target,
      "SELECT 1 FROM information_schema.columns WHERE table_schema = 'pl' AND table_name = 'film' AND column_name = 'note'",
    );
    expect(columns).toEqual([]);

    // The rest deployed, film_in_stock changed again: going back from it, its earlier body still calls the callee.
    w.write('pl/schema/pl/pagila.sql', changed('1 = 1'));
    expect((await deploy()).code).toBe(0);
    const broken = await dbee('rollback', { objects: ['function:pl.inventory_in_stock'], withDependents: true });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(
      /function:pl\.film_in_stock\(integer,integer\) goes back to its definition before deployment #\d+, which stands on function:pl\.inventory_in_stock\(integer\)/,
    );
    expect(await functions()).toEqual(FUNCTIONS);
  });
});
