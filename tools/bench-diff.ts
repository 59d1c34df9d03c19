/**
 * Diff benchmark (issue #4): dbee diff against @pgkit/migra on the same two databases.
 *
 *   node tools/run.js tools/bench-diff.ts                 # 1,000 objects, 5 runs, both shadow kinds
 *   node tools/run.js tools/bench-diff.ts 2000 --runs 3 --shadow server
 *
 * Setup (not timed): generate a project of N objects; deploy it with dbee to two fresh server databases A and B;
 * mutate A with a change set touching ~2% of the objects (view bodies, SQL and PL/pgSQL function bodies, added
 * columns, added tables; tools/bench/generate.ts). A has drifted from the sources; B is the sources, deployed.
 *
 * Timed, each median over --runs runs after one warm-up round (in-process numbers are for a warm process):
 *   - dbee diff A vs sources, uncached (`noCache`): parse the sources, build the desired model in a shadow
 *     database (PGlite or a scratch database on the server, per `shadow:`) and introspect it, fingerprint and
 *     introspect A, diff, render. Also split into its parts (desired-model build; diff given a built model).
 *   - dbee diff A vs B (`againstEnv`), uncached: two live introspections and the diff, as migra does.
 *   - the same two, cached (the cache was written by the previous call; the sides are unchanged).
 *   - migra A -> B in-process (`@pgkit/migra` run(): inspect both databases, diff, render SQL), and both tools
 *     as whole processes (node start-up included).
 * Checked: the objects each tool names are the change set (no fewer; extras reported), and applying each
 * tool's SQL to a copy of A yields B's schema (catalog summary). A fast wrong answer does not count.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Workspace, desiredModel, loadProjectModel, planChanges } from '@dbee/core';
import { createPostgresEngine, loadPostgresParser } from '@dbee/postgres';
import { generateChangeSet, generateProject, type ChangeSet } from './bench/generate';
import * as L from './bench/lib';

type Shadow = 'embedded' | 'server';
const argv = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1]! : dflt;
};
const N = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--')) ?? 1000);
const RUNS = Number(flag('runs', '5'));
const SHADOWS: Shadow[] =
  flag('shadow', 'both') === 'both' ? ['server', 'embedded'] : [flag('shadow', 'both') as Shadow];
const TOOL_VERSION: string = JSON.parse(readFileSync(join(L.REPO, 'packages/cli/package.json'), 'utf8')).version;
const LIKE = 'gen\\_s%';

interface Row {
  label: string;
  samples: number[];
  includes: string;
  check?: string;
}

/** Objects (`schema.name`) a dbee diff step or a migra statement is about. */
function dbeeObjects(steps: { key: string }[]): Set<string> {
  const out = new Set<string>();
  for (const s of steps) {
    const m = /^[a-z-]+:([^.(]+)\.([^(@ ]+)/.exec(s.key);
    if (m) out.add(`${m[1]}.${m[2]}`.replace(/\.(.*)\.(.*)$/, '.$1'));
  }
  return out;
}
function migraObjects(statements: string[]): Set<string> {
  const out = new Set<string>();
  for (const st of statements) {
    const m = /"?(gen_s\d+)"?\."?([a-z0-9_]+)"?/.exec(st);
    if (m) out.add(`${m[1]}.${m[2]}`);
  }
  return out;
}

function judge(expected: Set<string>, found: Set<string>): { ok: boolean; text: string } {
  const missing = [...expected].filter((o) => !found.has(o));
  const extra = [...found].filter((o) => !expected.has(o));
  const ok = missing.length === 0;
  return {
    ok,
    text: `${found.size} objects named, ${expected.size - missing.length}/${expected.size} expected${missing.length ? ` (missing ${missing.slice(0, 5).join(', ')})` : ''}${extra.length ? `, ${extra.length} extra (${extra.slice(0, 4).join(', ')}${extra.length > 4 ? ', ...' : ''})` : ''}`,
  };
}

/** Apply SQL to a copy of A and compare the result with B: empty when it converges. */
async function converges(
  a: string,
  expectedSummary: L.CatalogSummary,
  sqlText: string,
  label: string,
  dir: string,
): Promise<string> {
  const copy = await L.createDb(`diff_check_${label}`, a);
  try {
    const file = join(dir, `${label}.sql`);
    writeFileSync(file, sqlText);
    await L.psqlFile(copy, file);
    return L.compareSummaries(expectedSummary, await L.catalogSummary(copy, LIKE));
  } catch (e) {
    return `applying it failed: ${String(e).split('\n').slice(0, 2).join(' ')}`;
  } finally {
    await L.dropDb(copy);
  }
}

async function main(): Promise<void> {
  console.log(`dbee diff benchmark: ${N} objects, ${RUNS} runs, shadow ${SHADOWS.join(' and ')}`);
  console.log(`machine: ${L.machine()}; load average at start ${L.load()}`);
  const migraMod = L.loadMigra();
  if ('error' in migraMod) console.log(`migra: unavailable: ${migraMod.error}`);
  const root = mkdtempSync(join(tmpdir(), 'dbee-bench-diff-'));
  try {
    // Workspaces (one per shadow kind), same project.
    const ws: Record<Shadow, string> = { server: join(root, 'ws-server'), embedded: join(root, 'ws-embedded') };
    L.writeWorkspace(ws.server, ['a', 'b'], 'server');
    const gen = generateProject(join(ws.server, 'gen'), { name: 'gen', objects: N });
    L.writeWorkspace(ws.embedded, ['a', 'b'], 'embedded');
    cpSync(join(ws.server, 'gen'), join(ws.embedded, 'gen'), { recursive: true });
    const cs: ChangeSet = generateChangeSet(gen);
    writeFileSync(join(root, 'mutation.sql'), cs.script);

    const a = await L.createDb('diff_a');
    const b = await L.createDb('diff_b');
    const env = { [L.envVar('a')]: L.dbUrl(a), [L.envVar('b')]: L.dbUrl(b) };
    await L.dbee(ws.server, 'deploy', { project: 'gen', env: 'a' }, env);
    await L.dbee(ws.server, 'deploy', { project: 'gen', env: 'b' }, env);
    await L.psqlFile(a, join(root, 'mutation.sql'));
    const sumA = await L.catalogSummary(a, LIKE);
    const sumB = await L.catalogSummary(b, LIKE);
    const expected = new Set(cs.changes.map((c) => c.object));
    const kinds = cs.changes.reduce<Record<string, number>>((m, c) => ((m[c.kind] = (m[c.kind] ?? 0) + 1), m), {});
    console.log(`project: ${gen.objects} objects in ${gen.files} files; B: ${L.describeSummary(sumB)}`);
    console.log(
      `A = B + ${cs.changes.length} changes (${Object.entries(kinds)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ')}) applied with psql: ${L.compareSummaries(sumB, sumA) || 'NO DIFFERENCE?'}`,
    );

    // dbee's parts, called directly (the same functions `dbee diff` calls).
    await loadPostgresParser();
    const engine = createPostgresEngine();
    const parts = async (shadow: Shadow) => {
      const workspace = Workspace.load(ws[shadow]);
      const environment = workspace.environment('a', { ...process.env, ...env });
      const project = workspace.project('gen');
      let t = performance.now();
      const model = await loadProjectModel(
        workspace.root,
        project,
        workspace.settings(project, environment).variables,
        engine.parser,
        workspace.projects,
      );
      const parseMs = performance.now() - t;
      t = performance.now();
      const desired = await desiredModel({
        engine,
        environment,
        workspaceRoot: workspace.root,
        models: [model],
        target: 'gen',
        schemaOwners: new Map(model.graph.schemas.map((s) => [s, 'gen'])),
        shadow,
        toolVersion: TOOL_VERSION,
        useCache: false,
      });
      const buildMs = performance.now() - t;
      t = performance.now();
      const conn = await engine.connect(environment, { workspaceRoot: workspace.root });
      let fp: string;
      let live;
      try {
        fp = await engine.diff!.fingerprint(conn, { schemas: model.graph.schemas });
        live = await engine.diff!.introspect(conn, { schemas: model.graph.schemas });
      } finally {
        await conn.close();
      }
      const liveMs = performance.now() - t;
      t = performance.now();
      const plan = planChanges(engine, live, desired.model, { project: 'gen', online: false, baseFingerprint: fp });
      const diffMs = performance.now() - t;
      return { parseMs, buildMs, liveMs, diffMs, steps: plan.steps.length };
    };

    const rows = new Map<string, Row>();
    const add = (key: string, label: string, includes: string, ms: number) => {
      const r = rows.get(key) ?? { label, samples: [], includes };
      r.samples.push(ms);
      rows.set(key, r);
    };
    const checks: string[] = [];
    let migraStatements: string[] = [];
    let migraSql = '';
    const dbeeSteps: Record<string, { key: string; statements: string[] }[]> = {};

    for (let run = 0; run <= RUNS; run++) {
      const warm = run === 0;
      const rec = (key: string, label: string, includes: string, ms: number) => !warm && add(key, label, includes, ms);
      const order = run % 2 ? ['migra', 'dbee'] : ['dbee', 'migra'];
      for (const who of order) {
        if (who === 'migra' && !('error' in migraMod)) {
          const t = performance.now();
          const m = await L.runMigra(migraMod.migra, L.dbUrl(a), L.dbUrl(b));
          const sqlText = m.sql;
          const ms = performance.now() - t;
          await m.close();
          rec('migra', 'migra A -> B (in-process)', 'connect, inspect A and B (whole databases), diff, render SQL', ms);
          migraSql = sqlText;
          migraStatements = [...m.statements];
          const p = await L.timeProcess(process.execPath, [
            join(L.PEERS_DIR, 'node_modules/@pgkit/migra/dist/command.js'),
            L.dbUrl(a),
            L.dbUrl(b),
            '--unsafe',
          ]);
          if (p.code !== 0 && p.code !== 2) throw new Error(`migra CLI exited ${p.code}: ${p.stderr.slice(0, 1000)}`);
          rec('migra-cli', 'migra A -> B (whole process)', 'the above plus node start-up and module loading', p.ms);
        }
        if (who === 'dbee') {
          for (const shadow of SHADOWS) {
            const sfx = shadow === 'server' ? '' : ' [embedded shadow]';
            let r = await L.dbee(ws[shadow], 'diff', { project: 'gen', env: 'a', noCache: true, format: 'json' }, env);
            rec(
              `src-uncached-${shadow}`,
              `dbee diff A vs sources, uncached${sfx}`,
              `parse sources, shadow build (${shadow === 'server' ? 'scratch database on the server' : 'PGlite in memory'}) + introspect it, fingerprint + introspect A, diff, render`,
              r.ms,
            );
            dbeeSteps[`sources-${shadow}`] = JSON.parse(r.stdout).steps;
            r = await L.dbee(ws[shadow], 'diff', { project: 'gen', env: 'a', format: 'json' }, env);
            if (!JSON.parse(r.stdout).cached) throw new Error('the second diff was not served from the cache');
            rec(
              `src-cached-${shadow}`,
              `dbee diff A vs sources, cached${sfx}`,
              'parse sources (for the cache key), read cached model, lock + fingerprint A, read cached diff',
              r.ms,
            );
            const p = await parts(shadow);
            rec(
              `part-parse-${shadow}`,
              `  part: parse sources${sfx}`,
              'discover + parse + references (loadProjectModel)',
              p.parseMs,
            );
            rec(
              `part-build-${shadow}`,
              `  part: desired-model build${sfx}`,
              'plan, open shadow, apply every statement, introspect shadow, write model cache',
              p.buildMs,
            );
            if (shadow === SHADOWS[0]) {
              rec('part-live', '  part: read A', 'connect, fingerprint, introspect A', p.liveMs);
              rec('part-diff', '  part: diff given both models', 'diffModels + render (planChanges)', p.diffMs);
            }
          }
          let r = await L.dbee(
            ws.server,
            'diff',
            { project: 'gen', env: 'a', againstEnv: 'b', noCache: true, format: 'json' },
            env,
          );
          rec(
            'env-uncached',
            'dbee diff A vs B (env vs env), uncached',
            'parse sources (for the schema list), lock + fingerprint + introspect B, the same for A, diff, render',
            r.ms,
          );
          dbeeSteps.env = JSON.parse(r.stdout).steps;
          r = await L.dbee(ws.server, 'diff', { project: 'gen', env: 'a', againstEnv: 'b', format: 'json' }, env);
          rec(
            'env-cached',
            'dbee diff A vs B (env vs env), cached',
            'parse sources, introspect B (not cached), fingerprint A, read cached diff',
            r.ms,
          );
          const pc = await L.dbeeProcess(
            ['diff', 'gen', '--env', 'a', '--against-env', 'b', '--no-cache', '--format', 'json', '--cwd', ws.server],
            env,
          );
          if (pc.code !== 0) throw new Error(`dbee diff process exited ${pc.code}: ${pc.stderr.slice(0, 1000)}`);
          rec(
            'env-cli',
            'dbee diff A vs B, uncached (whole process)',
            'the above plus node start-up, @swc-node/register and module loading',
            pc.ms,
          );
        }
      }
      if (!warm) process.stdout.write(`  run ${run}/${RUNS} done (load ${L.load()})\n`);
    }

    // Correctness: both tools must name the changed objects, and their SQL must turn A into B. Verdicts: OK;
    // NOISY (converges, but also "changes" objects that did not change; for migra, re-creating the views that
    // depend on a changed view is its strategy, not noise); WRONG (misses a change or does not converge).
    let wrong = 0;
    for (const [label, steps] of Object.entries(dbeeSteps)) {
      const found = dbeeObjects(steps);
      const j = judge(expected, found);
      const sqlText = steps
        .map((s) => s.statements.map((x) => x.trim().replace(/;\s*$/, '') + ';').join('\n'))
        .join('\n');
      const conv = await converges(a, sumB, sqlText, `dbee_${label}`, root);
      const spurious = [...found].filter((o) => !expected.has(o)).length;
      const verdict =
        !j.ok || conv ? 'WRONG' : spurious ? `NOISY: ${spurious} unchanged objects reported as changed` : 'OK';
      if (verdict === 'WRONG') wrong++;
      checks.push(
        `dbee (${label === 'env' ? 'A vs B' : `A vs sources, ${label.slice(8)} shadow`}): ${steps.length} steps; ${j.text}; applied to a copy of A: ${conv ? `DOES NOT give B: ${conv}` : 'gives B'} -> ${verdict}`,
      );
    }
    if (migraSql || migraStatements.length) {
      const j = judge(expected, migraObjects(migraStatements));
      const conv = await converges(a, sumB, migraSql, 'migra', root);
      const extras = [...migraObjects(migraStatements)].filter((o) => !expected.has(o)).length;
      const verdict =
        !j.ok || conv ? 'WRONG' : extras ? 'OK (the extras are dependent views it drops and re-creates)' : 'OK';
      if (verdict === 'WRONG') wrong++;
      checks.push(
        `migra: ${migraStatements.length} statements; ${j.text}; applied to a copy of A: ${conv ? `DOES NOT give B: ${conv}` : 'gives B'} -> ${verdict}`,
      );
    }

    const med = (k: string) => L.median(rows.get(k)?.samples ?? []);
    console.log('');
    console.log(
      L.table(
        ['measurement', 'median', 'min', 'max', 'includes'],
        [...rows.values()].map((r) => [
          r.label,
          L.fmtMs(L.median(r.samples)),
          L.fmtMs(Math.min(...r.samples)),
          L.fmtMs(Math.max(...r.samples)),
          r.includes,
        ]),
      ),
    );
    console.log('');
    console.log('correctness (a fast wrong answer does not count):');
    for (const c of checks) console.log(`  ${c}`);
    console.log('');
    const goal = (label: string, met: boolean | null, detail: string) =>
      console.log(`  ${met === null ? 'n/a    ' : met ? 'MET    ' : 'NOT MET'}  ${label}: ${detail}`);
    const migra = med('migra');
    console.log('goals:');
    for (const [k, what] of [
      ['env-uncached', 'A vs B, env vs env: the apples-to-apples comparison (two live introspections each)'],
      ...SHADOWS.map((s) => [
        `src-uncached-${s}`,
        `A vs sources, ${s} shadow (shadow build included; migra needs B built beforehand)`,
      ]),
    ] as [string, string][]) {
      const d = med(k);
      goal(
        `dbee uncached >= 2x faster than migra [${what}]`,
        Number.isFinite(migra) ? migra / d >= 2 : null,
        `dbee ${L.fmtMs(d)}, migra ${L.fmtMs(migra)}, migra/dbee = ${L.fmtRatio(migra / d)}`,
      );
    }
    for (const s of SHADOWS) {
      const u = med(`src-uncached-${s}`);
      const c = med(`src-cached-${s}`);
      goal(
        `cached < 1/10 of uncached [A vs sources, ${s} shadow]`,
        c < u / 10,
        `${L.fmtMs(c)} vs ${L.fmtMs(u)} = ${((100 * c) / u).toFixed(1)}%`,
      );
    }
    {
      const u = med('env-uncached');
      const c = med('env-cached');
      goal(
        'cached < 1/10 of uncached [A vs B]',
        c < u / 10,
        `${L.fmtMs(c)} vs ${L.fmtMs(u)} = ${((100 * c) / u).toFixed(1)}%`,
      );
    }
    console.log(`  results correct: ${wrong ? `NO: ${wrong} wrong (see above)` : 'yes (see above for noisy ones)'}`);
    console.log(`load average at end ${L.load()}`);
    if (wrong) process.exitCode = 1;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

L.runMain(main);
