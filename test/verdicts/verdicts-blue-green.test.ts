import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FILE_ROUTER, sql } from '../blue-green/setup';
import { OwnCluster } from '../support/own-cluster';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';
import {
  BLUE_GREEN_CELLS,
  BLUE_GREEN_RUNS,
  blueGreenFiles,
  PROBED,
  probeWrites,
  UMBRELLA,
  type BlueGreenRun,
} from './verdict-blue-green';
import { judgeCell, SEED } from './verdict-matrix';

/**
 * The verdict matrix's column `blue/green phases` (verdict-blue-green.ts): the shared workspace's projects with one
 * that depends on them all, deployed and seeded once on a cluster of its own with `wal_level = logical`, then each run
 * in order on one blue and one green; each cell judged on its run's output. verdicts.test.ts counts these cells as
 * covered in the matrix's summary.
 */
let cluster: OwnCluster | undefined;
let w: ReturnType<typeof tempWorkspace> | undefined;
afterAll(async () => {
  await cluster?.stop();
  w?.remove();
});

describe('the verdict matrix [blue/green phases]', () => {
  it('every shape: a correct release deployed on green and switchable, a broken one refused and named', async () => {
    cluster = await OwnCluster.start({ wal_level: 'logical', max_replication_slots: '10', max_wal_senders: '10' });
    await sql(cluster.url(), 'CREATE DATABASE app');
    const blueUrl = cluster.url('app');
    const greenUrl = cluster.url('app_green');
    const originals: Record<string, string> = { ...blueGreenFiles(), ...FILE_ROUTER.files };
    w = tempWorkspace({
      ...originals,
      'dbee.yaml': `version: 1
defaultEnvironment: blue
shadow: server
environments:
  blue:
    engine: postgres
    connection: { url: "${blueUrl}" }
    blueGreen: { green: green, router: ${FILE_ROUTER.yaml} }
  green:
    engine: postgres
    connection: { url: "${greenUrl}" }
`,
    });
    const first = await run(w.root, 'deploy', { project: UMBRELLA, env: 'blue', assumeYes: true });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    await sql(blueUrl, SEED);

    const outputs = new Map<string, { code: number; out: string }>();
    const failures: string[] = [];
    let round = 0;
    for (const [name, spec] of Object.entries(BLUE_GREEN_RUNS) as [string, BlueGreenRun][]) {
      for (const [rel, text] of Object.entries(spec.files)) w.write(rel, text);
      let out = '';
      let code = -1;
      try {
        for (const step of spec.steps) {
          if ('probe' in step) {
            const [from, to] = step.probe === 'blue' ? [blueUrl, greenUrl] : [greenUrl, blueUrl];
            out += await probe(step.probe, from, to, ++round);
            continue;
          }
          const r = await run(w.root, step.command, step.options);
          if (code === -1) code = r.code;
          out += `$ dbee ${step.command} ${flags(step.options)}: exit ${r.code}\n${r.stdout}${r.stderr}\n`;
        }
      } finally {
        if (spec.keep) Object.assign(originals, spec.files);
        else
          for (const rel of Object.keys(spec.files))
            if (originals[rel] !== undefined) w.write(rel, originals[rel]);
            else if (existsSync(join(w.root, rel))) rmSync(join(w.root, rel));
      }
      outputs.set(name, { code, out });
      if (spec.setup && code !== 0) failures.push(`${name}: exit ${code}\n${out}`);
    }
    for (const cell of BLUE_GREEN_CELLS) failures.push(...judgeCell(cell, outputs.get(cell.run)));
    if (process.env.VERDICTS_PRINT) for (const [name, o] of outputs) console.info(`=== ${name}\n${o.out}`);
    expect(failures).toEqual([]);
  }, 600_000);
});

/** A command's options as its flags (`--dry-run`), for the line that heads its output. */
function flags(options: Record<string, unknown>): string {
  const { project, env, assumeYes: _y, ticket: _t, ...rest } = options;
  const given = Object.entries(rest).map(([k, v]) => {
    const flag = `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    return v === true ? flag : `${flag} ${String(v)}`;
  });
  return [project, `--env ${String(env)}`, ...given].join(' ');
}

/**
 * The application's writes on `side` (`probeWrites`: every shape's table), then each table of `PROBED` compared on
 * both sides (the columns blue has, every row) until the other side has the rows (replication applies them in a
 * moment) or 30 s went by: one line per table, `probe: green has blue's rows of <table> (<n> rows)` or `probe: green
 * differs from blue on <table>: ...`; a write refused is said so (`probe: ... differs ...: <error>`).
 */
async function probe(side: 'blue' | 'green', fromUrl: string, toUrl: string, round: number): Promise<string> {
  const other = side === 'blue' ? 'green' : 'blue';
  const digest = async (url: string) =>
    Object.fromEntries(
      await Promise.all(
        Object.entries(PROBED).map(async ([table, columns]) => {
          const [row] = await sql(
            url,
            `SELECT count(*)::int AS n, md5(coalesce(string_agg(r::text, ',' ORDER BY r::text), '')) AS h FROM (SELECT ${columns} FROM ${table}) r`,
          );
          return [table, `${row!['n']} rows ${String(row!['h']).slice(0, 8)}`] as const;
        }),
      ),
    );
  const failed = (e: Error) => ({ error: e.message }) as Record<string, string>;
  // The side the application writes to: blue before the switch, green after it (blue is then read-only for it).
  const wrote = await sql(fromUrl, ...probeWrites(round)).then(() => null, failed);
  if (wrote) return `probe: ${other} differs from ${side}: the writes on ${side} failed: ${wrote['error']}\n`;
  const written = await digest(fromUrl);
  const there = () => digest(toUrl).catch(failed);
  let got = await there();
  for (let i = 0; i < 150 && Object.keys(written).some((t) => got[t] !== written[t]); i++) {
    await new Promise((r) => setTimeout(r, 200));
    got = await there();
  }
  if (got['error']) return `probe: ${other} differs from ${side}: ${got['error']}\n`;
  return Object.keys(PROBED)
    .map((t) =>
      got[t] === written[t]
        ? `probe: ${other} has ${side}'s rows of ${t} (${written[t]!.split(' ')[0]} rows)\n`
        : `probe: ${other} differs from ${side} on ${t}: ${side} ${written[t]}, ${other} ${got[t]}\n`,
    )
    .join('');
}
