import { afterAll, expect, it } from 'vitest';
import { dbYaml, workspaceWith, type TestWorkspace } from '../runner/helpers';
import { run } from '../support/run';

/**
 * Issue 89, item 4: `rollback --objects table:<t>` after an `--objects` deploy that added one column undid the column
 * and also dropped the table's indexes, which the release never touched (they were created by the first deployment,
 * a step of it still applied, and selected through their table). They stay; selected by their own key, they go.
 */
let w: TestWorkspace | undefined;
afterAll(async () => {
  await w?.remove();
});

const TABLE =
  'CREATE SCHEMA pl;\nCREATE TABLE pl.film (id int PRIMARY KEY, title text NOT NULL, year int);\nCREATE INDEX film_title_idx ON pl.film (title);\nCREATE INDEX film_year_idx ON pl.film (year);\n';

it('rollback --objects table:pl.film undoes the column the release added and leaves the indexes it never touched', async () => {
  w = await workspaceWith('postgres', { 'pl/db.yaml': dbYaml('pl'), 'pl/film.sql': TABLE });
  const ws = w;
  const dbee = (command: 'deploy' | 'rollback', options: Record<string, unknown> = {}) =>
    run(
      ws.root,
      command,
      { project: 'pl', assumeYes: true, ...(command === 'deploy' ? { countdownFrom: 0 } : {}), ...options },
      ws.target.vars,
    );
  const first = await dbee('deploy');
  expect(first.code, first.stdout + first.stderr).toBe(0);
  ws.write('pl/film.sql', TABLE.replace('year int)', 'year int, rating text)'));
  const added = await dbee('deploy', { objects: ['table:pl.film'] });
  expect(added.code, added.stdout + added.stderr).toBe(0);

  const dry = await dbee('rollback', { objects: ['table:pl.film'], dryRun: true });
  expect(dry.code, dry.stdout + dry.stderr).toBe(0);
  expect(dry.stdout).toMatch(/DROP COLUMN [^\n]*rating/);
  expect(dry.stdout).not.toMatch(/DROP INDEX/i);
  const back = await dbee('rollback', { objects: ['table:pl.film'] });
  expect(back.code, back.stdout + back.stderr).toBe(0);
  const left = await ws.target.query<{ name: string }>(
    "SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'pl' ORDER BY 1",
  );
  expect(left.map((r) => r.name)).toEqual(['film_pkey', 'film_title_idx', 'film_year_idx']);
  const columns = await ws.target.query<{ name: string }>(
    "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = 'pl' AND table_name = 'film' ORDER BY ordinal_position",
  );
  expect(columns.map((r) => r.name)).toEqual(['id', 'title', 'year']);
}, 120_000);
