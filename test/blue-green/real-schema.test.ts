import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pagilaFiles } from '../rollback/pagila';
import { OwnCluster } from '../support/own-cluster';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';
import { FILE_ROUTER, sql } from './setup';

/**
 * Blue/green on a schema nobody on the project wrote: ten tables of pagila's published schema in `public`
 * (test/rollback/pagila.ts: foreign keys among all of them, serial sequences, an enum, a domain, `last_updated`
 * triggers), rows in them, then a release through deploy, switch and finish. Green gets every row and the release, its
 * sequences go past blue's at the switch, and the triggers did not fire again on green for the rows replication
 * copied.
 */
describe('blue/green on pagila in public', () => {
  let cluster: OwnCluster;
  let w: ReturnType<typeof tempWorkspace>;
  const dbee = (command: Parameters<typeof run>[1], options: Record<string, unknown> = {}) =>
    run(w.root, command, { project: 'pagila', env: 'blue', assumeYes: true, ticket: 'CHG-3', ...options });
  beforeAll(async () => {
    cluster = await OwnCluster.start({ wal_level: 'logical', max_replication_slots: '10', max_wal_senders: '10' });
    await sql(cluster.url(), 'CREATE DATABASE app');
    w = tempWorkspace({
      ...pagilaFiles(),
      ...FILE_ROUTER.files,
      'dbee.yaml': `version: 1
defaultEnvironment: blue
environments:
  blue:
    engine: postgres
    connection: { url: "${cluster.url('app')}" }
    blueGreen: { green: green, router: ${FILE_ROUTER.yaml} }
  green:
    engine: postgres
    connection: { url: "${cluster.url('app_green')}" }
`,
    });
    const first = await dbee('deploy');
    expect(first.code, first.stderr).toBe(0);
    await sql(
      cluster.url('app'),
      "INSERT INTO public.language (name) VALUES ('English'), ('Italian')",
      "INSERT INTO public.film (title, language_id, rental_duration, rental_rate, replacement_cost) SELECT 'film ' || g, 1, 3, 4.99, 19.99 FROM generate_series(1, 50) g",
      "INSERT INTO public.country (country) VALUES ('Italy')",
      "INSERT INTO public.city (city, country_id) VALUES ('Rome', 1)",
    );
  }, 180_000);
  afterAll(async () => {
    await cluster?.stop();
    w?.remove();
  });

  it('deploys a release to green, switches and finishes: every row, keys continuing, the release on green', async () => {
    const before = await sql(cluster.url('app'), 'SELECT film_id, last_update::text AS u FROM public.film ORDER BY 1');
    const text = readFileSync(join(w.root, 'pagila/pagila.sql'), 'utf8');
    w.write('pagila/pagila.sql', text.replace(/(CREATE TABLE public\.film \(\n)/, '$1    subtitle text,\n'));
    const deployed = await dbee('deploy', { strategy: 'blue-green' });
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(
      await sql(
        cluster.url('app_green'),
        "SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'film' AND column_name = 'subtitle'",
      ),
    ).toEqual([{ n: 1 }]);
    // Written on blue while green is in sync: replicated.
    await sql(cluster.url('app'), "INSERT INTO public.language (name) VALUES ('French')");
    const switched = await dbee('switch');
    expect(switched.code, switched.stderr).toBe(0);
    // Every row, as blue had it: replication's copies did not fire green's last_updated triggers.
    expect(
      await sql(cluster.url('app_green'), 'SELECT film_id, last_update::text AS u FROM public.film ORDER BY 1'),
    ).toEqual(before);
    expect(await sql(cluster.url('app_green'), 'SELECT name FROM public.language ORDER BY language_id')).toEqual([
      { name: 'English' },
      { name: 'Italian' },
      { name: 'French' },
    ]);
    // The application now writes to green: its keys continue after blue's, through the foreign keys.
    await sql(
      cluster.url('app_green'),
      "INSERT INTO public.film (title, language_id, rental_duration, rental_rate, replacement_cost, subtitle) VALUES ('after', 3, 3, 4.99, 19.99, 'fr')",
    );
    expect(await sql(cluster.url('app_green'), "SELECT film_id FROM public.film WHERE title = 'after'")).toEqual([
      { film_id: 51 },
    ]);
    const finished = await dbee('finish');
    expect(finished.code, finished.stderr).toBe(0);
    expect(await sql(cluster.url(), "SELECT datname FROM pg_database WHERE datname = 'app'")).toEqual([]);
    const status = await run(w.root, 'status', { project: 'pagila', env: 'green' });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('drift: no');
  }, 300_000);
});
