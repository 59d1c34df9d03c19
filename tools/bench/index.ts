/**
 * Deployment benchmark (issues #7, #14): dbee against the psql floor and against peers, in one run, on the same
 * PostgreSQL server, each measurement on a fresh database, medians over several runs. Goals are judged on the
 * median of PAIRED ratios: within each run a floor is measured right before the dbee measurement it is compared
 * with (floor, dbee in-process, floor again, dbee CLI process; change-set floor, incremental deploys), so a load
 * spike on the shared machine moves both sides of a pair.
 *
 *   npm run bench                                   # 1,000 objects, 5 runs
 *   npm run bench -- 2000 --runs 3                  # another size / number of runs
 *   npm run bench -- --no-liquibase --no-migra --no-node-pg-migrate   # skip peers
 *   npm run bench -- --scale [1000,5000,10000]      # the scaling table (tools/bench/scale.ts)
 *   npm run bench -- --write-docs                   # and rewrite its table in docs/performance.md
 *
 * Per run (each database fresh, named dbee_bench_*, all dropped at the end, also on failure):
 *   floor      psql -X -1 -f of the generator's script (the same objects, in dependency order): F0, and again
 *              on another database right before the CLI deploy; psql -1 -f of the change set's statements alone
 *              on a copy of F0: F1
 *   dbee       full deploy to an empty database (in-process, and as a whole CLI process of the compiled dist/,
 *              as installed, on another one; in-process again with deploy.transaction: project);
 *              no-op deploy (in-process and whole CLI process); incremental deploy of the change set
 *              (~2% of the objects: view and function bodies, added tables, columns added in table sources);
 *              rollback of it if `dbee rollback` is implemented; diff F0 vs the changed sources (uncached and
 *              cached) and F0 vs F1 (env vs env, uncached and cached)
 *   Liquibase  `update` of the same statements as a formatted SQL changelog (one changeset per object) on an
 *              empty database, whole process (JVM start-up included, as for dbee's CLI row)
 *   node-pg-migrate  `up` of the same statements as SQL migrations (one per object) on an empty database, whole
 *              process, its defaults (one transaction for all, one row per migration)
 *   migra      @pgkit/migra F0 -> F1 in-process
 *   goals      (issue #61) next to the rows above, in the same run: `deploy --dry-run --no-verify` of the change set
 *              (planning it alone, its client CPU) right before the incremental deploy with the model cached, and
 *              the views its smoke baseline compiled compiled again by psql right after it; a floor of its own right
 *              before the uncached diff; the CPU of the CLI process (/usr/bin/time) against the in-process deploy's
 *              (process.cpuUsage()); `node -e 0` and `dbee --help` alternating, 3 pairs per run, their CPU.
 * After every step the schema is checked against the floor's (catalog summary: counts and an MD5 of every
 * definition), and the diffs must name the change set's objects. Nothing is reported for a step that did not
 * run or gave a wrong result. The goals are printed with their verdicts on the median of the runs' paired samples
 * (5 runs at least), their range and the load average (tools/bench/goals.ts); `--write-docs` rewrites the
 * benchmark's table in docs/performance.md.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyChangeSet, generateChangeSet, generateProject } from './generate';
import * as G from './goals';
import * as L from './lib';
import { compileFloor, scaleMain } from './scale';

const argv = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1]! : dflt;
};
const N = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--')) ?? 1000);
const RUNS = Number(flag('runs', '5'));
/** Runs of `node -e 0` and `dbee --help` per run of the rest, for the start-up goal (cheap: more pairs, less noise). */
const START_PAIRS = 3;
const WITH_LIQUIBASE = !argv.includes('--no-liquibase');
const WITH_MIGRA = !argv.includes('--no-migra');
const WITH_NODE_PG_MIGRATE = !argv.includes('--no-node-pg-migrate');
const LIKE = 'gen\\_s%';
/** The CLI rows run the compiled packages (dist/), as a user's installed dbee does; built at the start. */
const CLI_ENV: Record<string, string> = { DBEE_USE_DIST: '1' };

interface Row {
  samples: number[];
  note?: string;
}

async function main(): Promise<void> {
  const startLoad = L.load();
  console.log(`dbee deployment benchmark: ${N} objects, ${RUNS} runs`);
  if (RUNS < 5) console.log(`${RUNS} runs: the goals need 5 paired runs each, and are printed without a verdict`);
  console.log(`machine: ${L.machine()}`);
  console.log(`load average at start: ${startLoad}`);

  const root = mkdtempSync(join(tmpdir(), 'dbee-bench-'));
  const rows = new Map<string, Row>();
  const rec = (key: string, ms: number) => {
    const r = rows.get(key) ?? { samples: [] };
    r.samples.push(ms);
    rows.set(key, r);
  };
  /** Paired ratios: per run, dbee's time over the floor measured next to it. */
  const pairs = new Map<string, number[]>();
  const pair = (key: string, ratio: number) => pairs.set(key, [...(pairs.get(key) ?? []), ratio]);
  const failures: string[] = [];
  const notes: string[] = [];
  try {
    // Two workspaces with the same project: the base sources, and the sources with the change set applied.
    // shadow: server, because an embedded (PGlite, newer PostgreSQL) shadow renders view definitions unlike a
    // PostgreSQL 15 server, and the diff then reports every view as changed (see tools/bench-diff.ts).
    const envs = ['d', 'cli', 'base', 'target'];
    const wsBase = join(root, 'base');
    const wsChanged = join(root, 'changed');
    const wsProject = join(root, 'project-scope');
    L.writeWorkspace(wsBase, envs, 'server');
    const gen = generateProject(join(wsBase, 'gen'), { name: 'gen', objects: N });
    cpSync(wsBase, wsChanged, { recursive: true });
    cpSync(wsBase, wsProject, { recursive: true });
    writeFileSync(
      join(wsProject, 'dbee.yaml'),
      readFileSync(join(wsBase, 'dbee.yaml'), 'utf8').replace(
        'environments:',
        'deploy:\n  transaction: project\nenvironments:',
      ),
    );
    const built = L.buildDist();
    console.log(`CLI rows: ${built ? 'compiled dist/ (npm run build)' : 'TypeScript sources (npm run build failed)'}`);
    if (!built) delete CLI_ENV.DBEE_USE_DIST;
    // The CLI rows' compile cache (packages/core/src/compile-cache.ts): the bench's own folder, filled by the untimed
    // CLI deploy of the warm-up, so that every run's CLI process is a user's second and later process after an
    // install. Without it the first run's CLI process compiled every module and wrote the cache (about +0.45 s of CPU,
    // +0.85 s at this size): the one pair that decided the worst-pair goals. The first process after an install is
    // measured in every run as its own row, with no cache at all (a fresh CI runner).
    CLI_ENV.NODE_COMPILE_CACHE = join(root, 'compile-cache');
    const cs = generateChangeSet(gen);
    applyChangeSet(join(wsChanged, 'gen'), cs);
    const scriptFile = join(root, 'script.sql');
    const changesFile = join(root, 'changes.sql');
    writeFileSync(scriptFile, gen.script);
    writeFileSync(changesFile, cs.script);
    const changeStatements = L.splitScript(cs.script).length;
    const expectedObjects = new Set(cs.changes.map((c) => c.object));
    const kinds = cs.changes.reduce<Record<string, number>>((m, c) => ((m[c.kind] = (m[c.kind] ?? 0) + 1), m), {});
    console.log(
      `project: ${gen.objects} objects in ${gen.files} files, ${L.splitScript(gen.script).length} statements`,
    );
    console.log(
      `change set: ${cs.changes.length} changes (${Object.entries(kinds)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ')}), ${changeStatements} statements`,
    );

    const rollback = L.rollbackImplemented();
    const lb = WITH_LIQUIBASE ? L.liquibaseCli() : { error: 'skipped (--no-liquibase)' };
    const migraMod = WITH_MIGRA ? L.loadMigra() : { error: 'skipped (--no-migra)' };
    const lbVersion = 'error' in lb ? null : lb.version;
    const npm = WITH_NODE_PG_MIGRATE ? L.nodePgMigrateCli() : { error: 'skipped (--no-node-pg-migrate)' };
    console.log(`node-pg-migrate: ${'error' in npm ? `unavailable: ${npm.error}` : npm.version}`);
    if (!('error' in npm)) L.nodePgMigrations(gen.script, join(root, 'node-pg-migrate'));
    console.log(`liquibase: ${'error' in lb ? `unavailable: ${lb.error}` : lb.version}`);
    console.log(
      `migra: ${'error' in migraMod ? `unavailable: ${migraMod.error}` : `@pgkit/migra ${migraMod.version}`}`,
    );
    console.log(`rollback: ${rollback.implemented ? 'implemented' : `not implemented yet (${rollback.why})`}`);
    if (!('error' in lb)) writeFileSync(join(root, 'changelog.sql'), L.liquibaseChangelog(gen.script));

    // Warm-up (not recorded): load dbee's modules and the parser in this process, so that in-process numbers
    // are a warm process's; the whole-process rows show the cold cost.
    {
      const w = await L.createDb('warmup');
      await L.dbee(wsBase, 'deploy', { project: 'gen', env: 'd' }, { [L.envVar('d')]: L.dbUrl(w) });
      await L.dbee(wsBase, 'deploy', { project: 'gen', env: 'd' }, { [L.envVar('d')]: L.dbUrl(w) });
      await L.dropDb(w);
      const c = await L.createDb('warmup_cli');
      const cli = await L.dbeeProcess(['deploy', 'gen', '--env', 'd', '--cwd', wsBase], {
        [L.envVar('d')]: L.dbUrl(c),
        ...CLI_ENV,
      });
      if (cli.code !== 0)
        failures.push(`warm-up: dbee full deploy (CLI) exited ${cli.code}: ${cli.stderr.slice(0, 300)}`);
      await L.dropDb(c);
    }

    let expectedBase: L.CatalogSummary | null = null;
    let expectedChanged: L.CatalogSummary | null = null;
    const check = (what: string, expected: L.CatalogSummary | null, actual: L.CatalogSummary, run: number) => {
      const d = expected ? L.compareSummaries(expected, actual) : 'no reference';
      if (d) failures.push(`run ${run}: ${what}: schema differs from the floor's: ${d}`);
      return !d;
    };
    const objectsOf = (names: Iterable<string>) => {
      const found = new Set(names);
      const missing = [...expectedObjects].filter((o) => !found.has(o));
      return { missing, extra: [...found].filter((o) => !expectedObjects.has(o)) };
    };

    // Not timed, before every measurement of the runs: write out the pages the bench's own set-up dirtied (a dozen
    // databases created, copied and dropped per run), so that each floor and each dbee measurement starts from the
    // same server state. Without it the first floor of every run took 1.0-1.6 s against 0.62-0.68 s for the others,
    // and an uncached incremental deploy paid for the backlog: dbee drops its shadow database at the end, and
    // PostgreSQL's DROP DATABASE waits for an immediate checkpoint (1.2-1.6 s here). See README, Performance. And first
    // no other session at work: the DROP DATABASE of a shadow that dbee leaves running when it has its answer made the
    // floor before the uncached diff about 250 ms slower than the run's others (`L.quietServer`).
    const quiet = () => L.quietServer();
    for (let run = 1; run <= RUNS; run++) {
      const dbs: string[] = [];
      const db = async (label: string, template?: string) => {
        const name = await L.createDb(`${label}_${run}`, template);
        dbs.push(name);
        return name;
      };
      // --- floor. Untimed psql runs first: after databases were dropped (the previous run's), the next two runs of
      // the script took 1.1-1.6 s here against 0.57-0.66 s for the others (also with psql alone, in a shell loop): a
      // state of the server, not a cost of the script, and it would flatter dbee's first pair of the run.
      for (const w of ['warm1', 'warm2']) await L.psqlFile(await db(w), scriptFile);
      const f0 = await db('f0');
      const floorA = (await quiet(), await L.psqlFile(f0, scriptFile)).ms;
      rec('floor', floorA);
      const sumF0 = await L.catalogSummary(f0, LIKE);
      if (!expectedBase) {
        expectedBase = sumF0;
        console.log(`expected schema (floor): ${L.describeSummary(sumF0)}`);
      } else check('psql floor', expectedBase, sumF0, run);
      const f1 = await db('f1', f0);
      const floorChanges = (await quiet(), await L.psqlFile(f1, changesFile)).ms;
      rec('floor-changes', floorChanges);
      const sumF1 = await L.catalogSummary(f1, LIKE);
      if (!expectedChanged) expectedChanged = sumF1;
      else check('psql floor of the change set', expectedChanged, sumF1, run);

      // --- dbee deploys
      const d = await db('dbee');
      const cli = await db('cli');
      const env = {
        [L.envVar('d')]: L.dbUrl(d),
        [L.envVar('cli')]: L.dbUrl(cli),
        [L.envVar('base')]: L.dbUrl(f0),
        [L.envVar('target')]: L.dbUrl(f1),
      };
      const full = (await quiet(), await L.dbee(wsBase, 'deploy', { project: 'gen', env: 'd' }, env));
      if (check('dbee full deploy', expectedBase, await L.catalogSummary(d, LIKE), run)) {
        rec('full', full.ms);
        pair('full', full.ms / floorA);
      }
      const f0b = await db('f0b');
      const floorB = (await quiet(), await L.psqlFile(f0b, scriptFile)).ms;
      rec('floor', floorB);
      const fullCli =
        (await quiet(),
        await L.dbeeProcess(['deploy', 'gen', '--env', 'cli', '--cwd', wsBase], { ...env, ...CLI_ENV }));
      if (fullCli.code !== 0)
        failures.push(`run ${run}: dbee full deploy (CLI) exited ${fullCli.code}: ${fullCli.stderr.slice(0, 300)}`);
      else if (check('dbee full deploy (CLI)', expectedBase, await L.catalogSummary(cli, LIKE), run)) {
        rec('full-cli', fullCli.ms);
        pair('full-cli', fullCli.ms / floorB);
        // The CLI process's CPU over the in-process deploy's CPU of the same run (same project, both to empty databases).
        if (rows.get('full')?.samples.length === run) pair('cli-cpu-over', fullCli.cpuMs - full.cpuMs);
      }
      // The same CLI deploy with no cache: the parse cache (.dbee/cache/parse) cleared and a compile cache folder of
      // its own, empty: the first deploy of a fresh CI runner, of sources never parsed in this workspace, by a dbee
      // just installed (every other CLI row reads the files the warm-up deploys parsed, with its code compiled).
      const cliCold = await db('cli_cold');
      const f0d = await db('f0d');
      const floorD = (await quiet(), await L.psqlFile(f0d, scriptFile)).ms;
      rec('floor', floorD);
      rmSync(join(wsBase, '.dbee', 'cache', 'parse'), { recursive: true, force: true });
      const fullCliCold =
        (await quiet(),
        await L.dbeeProcess(['deploy', 'gen', '--env', 'cli', '--cwd', wsBase], {
          ...env,
          [L.envVar('cli')]: L.dbUrl(cliCold),
          ...CLI_ENV,
          NODE_COMPILE_CACHE: join(root, `compile-cache-empty-${run}`),
        }));
      if (fullCliCold.code !== 0)
        failures.push(
          `run ${run}: dbee full deploy (CLI, no caches) exited ${fullCliCold.code}: ${fullCliCold.stderr.slice(0, 300)}`,
        );
      else if (check('dbee full deploy (CLI, no caches)', expectedBase, await L.catalogSummary(cliCold, LIKE), run)) {
        rec('full-cli-cold', fullCliCold.ms);
        pair('full-cli-cold', fullCliCold.ms / floorD);
      }
      // The same deploy with one transaction per project (deploy.transaction: project), paired with a third floor.
      const f0c = await db('f0c');
      const floorC = (await quiet(), await L.psqlFile(f0c, scriptFile)).ms;
      rec('floor', floorC);
      const p = await db('dbee_project');
      const fullProject =
        (await quiet(),
        await L.dbee(wsProject, 'deploy', { project: 'gen', env: 'd' }, { ...env, [L.envVar('d')]: L.dbUrl(p) }));
      if (check('dbee full deploy (transaction: project)', expectedBase, await L.catalogSummary(p, LIKE), run)) {
        rec('full-project', fullProject.ms);
        pair('full-project', fullProject.ms / floorC);
      }

      const noop = (await quiet(), await L.dbee(wsBase, 'deploy', { project: 'gen', env: 'd' }, env));
      if (!/nothing to deploy/.test(noop.stdout + noop.stderr))
        failures.push(`run ${run}: the no-op deploy did something: ${noop.stdout.slice(0, 300)}`);
      else rec('noop', noop.ms);
      const noopCli =
        (await quiet(), await L.dbeeProcess(['deploy', 'gen', '--env', 'd', '--cwd', wsBase], { ...env, ...CLI_ENV }));
      if (noopCli.code !== 0 || !/nothing to deploy/.test(noopCli.stdout + noopCli.stderr))
        failures.push(
          `run ${run}: the no-op CLI deploy exited ${noopCli.code}: ${(noopCli.stdout + noopCli.stderr).slice(0, 300)}`,
        );
      else rec('noop-cli', noopCli.ms);

      // Incremental deploy of the change set. It changes tables, so dbee plans the project by a diff against the
      // sources' desired model, which it builds in a shadow database unless its cache (.dbee/cache, keyed by
      // the sources) has it: measured with the cache emptied first (a fresh checkout), then, on a copy of the
      // same database, with the model cached (after a `dbee build`/`diff` of the same sources).
      const d2 = await db('dbee_cached', d);
      rmSync(join(wsChanged, '.dbee', 'cache'), { recursive: true, force: true });
      const incr = (await quiet(), await L.dbee(wsChanged, 'deploy', { project: 'gen', env: 'd' }, env));
      const steps = /deployed (\d+) step/.exec(incr.stdout + incr.stderr)?.[1];
      if (check('dbee incremental deploy', expectedChanged, await L.catalogSummary(d, LIKE), run)) {
        rec('incr', incr.ms);
        rows.get('incr')!.note = `${steps ?? '?'} steps`;
      }
      // Same environment name (the model cache key covers the variables, and `{{env}}` is one), other database.
      const envD2 = { ...env, [L.envVar('d')]: L.dbUrl(d2) };
      // Planning the change set alone, on the same database state: `deploy --dry-run --no-verify` (the plan printed,
      // no DDL, no ledger rows), its client CPU against the deploy's right after it.
      const planOnly = await L.dbee(
        wsChanged,
        'deploy',
        { project: 'gen', env: 'd', dryRun: true, verify: false },
        envD2,
      );
      const incr2 = (await quiet(), await L.dbee(wsChanged, 'deploy', { project: 'gen', env: 'd' }, envD2));
      if (check('dbee incremental deploy (model cached)', expectedChanged, await L.catalogSummary(d2, LIKE), run)) {
        rec('incr-cached', incr2.ms);
        // The guarantee's own floor, right after: the views the smoke baseline compiled, compiled again by psql.
        const compiles = (await quiet(), await compileFloor(d2, root));
        rec('compile-floor', compiles);
        pair('incr-budget', incr2.ms / (floorChanges + compiles));
        pair('incr-cpu', incr2.cpuMs / planOnly.cpuMs);
        rec('plan-only-cpu', planOnly.cpuMs);
        rec('incr-cpu', incr2.cpuMs);
        // The same change set to a database as its own last deployment left it (nothing else changed its catalog
        // since, as in a database of one project): the drift check finds the catalog version it recorded and reads no
        // fingerprint. Beside the goal, whose deploy goes to a copy of the deployed database (another catalog
        // version), as a database several projects share is after another project's deployment.
        const same = await db('dbee_same');
        const envSame = { ...env, [L.envVar('d')]: L.dbUrl(same) };
        await L.dbee(wsBase, 'deploy', { project: 'gen', env: 'd' }, envSame);
        const incr3 = (await quiet(), await L.dbee(wsChanged, 'deploy', { project: 'gen', env: 'd' }, envSame));
        if (
          check(
            'dbee incremental deploy (catalog as deployed)',
            expectedChanged,
            await L.catalogSummary(same, LIKE),
            run,
          )
        ) {
          rec('incr-same', incr3.ms);
          pair('incr-same-budget', incr3.ms / (floorChanges + compiles));
        }
      }

      if (rollback.implemented) {
        try {
          const rb =
            (await quiet(), await L.dbee(wsChanged, 'rollback', { project: 'gen', env: 'd', assumeYes: true }, env));
          if (check('dbee rollback', expectedBase, await L.catalogSummary(d, LIKE), run)) rec('rollback', rb.ms);
        } catch (e) {
          failures.push(`run ${run}: dbee rollback failed: ${String(e).split('\n').slice(0, 3).join(' ')}`);
        }
      }

      // --- diffs: F0 (base) against the changed sources, and against F1
      const diffCheck = (what: string, stdout: string) => {
        const j = JSON.parse(stdout) as { steps: { key: string }[]; cached: boolean };
        const names = j.steps.map((s) => /^[a-z-]+:([^.(]+\.[^.(@ ]+)/.exec(s.key)?.[1] ?? s.key);
        const { missing, extra } = objectsOf(names);
        if (missing.length)
          failures.push(
            `run ${run}: ${what} misses ${missing.length} changed objects (${missing.slice(0, 4).join(', ')})`,
          );
        if (run === 1)
          notes.push(
            `${what}: ${j.steps.length} steps, ${expectedObjects.size - missing.length}/${expectedObjects.size} changed objects named${extra.length ? `, ${extra.length} others (${extra.slice(0, 3).join(', ')}...)` : ''}`,
          );
        return { ok: !missing.length, cached: j.cached };
      };
      // The uncached diff (it builds the desired model in a shadow database) right after a floor of its own.
      const floorE = (await quiet(), await L.psqlFile(await db('f0e'), scriptFile)).ms;
      rec('floor', floorE);
      let r =
        (await quiet(),
        await L.dbee(wsChanged, 'diff', { project: 'gen', env: 'base', cache: false, format: 'json' }, env));
      if (diffCheck('dbee diff F0 vs sources', r.stdout).ok) {
        rec('diff-src', r.ms);
        pair('diff-src', r.ms / floorE);
      }
      r = await L.dbee(wsChanged, 'diff', { project: 'gen', env: 'base', format: 'json' }, env);
      const c = diffCheck('dbee diff F0 vs sources (cached)', r.stdout);
      if (c.ok && c.cached) rec('diff-src-cached', r.ms);
      else if (!c.cached) failures.push(`run ${run}: the repeated diff was not served from the cache`);
      r = await L.dbee(
        wsChanged,
        'diff',
        { project: 'gen', env: 'base', againstEnv: 'target', cache: false, format: 'json' },
        env,
      );
      if (diffCheck('dbee diff F0 vs F1 (env vs env)', r.stdout).ok) rec('diff-env', r.ms);
      r = await L.dbee(wsChanged, 'diff', { project: 'gen', env: 'base', againstEnv: 'target', format: 'json' }, env);
      if (diffCheck('dbee diff F0 vs F1 (env vs env, cached)', r.stdout).ok) rec('diff-env-cached', r.ms);

      if (!('error' in migraMod)) {
        const t = performance.now();
        const m = await L.runMigra(migraMod.migra, L.dbUrl(f0), L.dbUrl(f1));
        const statements = m.statements;
        const ms = performance.now() - t;
        await m.close();
        const names = statements
          .map((s) => /"?(gen_s\d+)"?\."?([a-z0-9_]+)"?/.exec(s))
          .filter((x): x is RegExpExecArray => !!x)
          .map((x) => `${x[1]}.${x[2]}`);
        const { missing, extra } = objectsOf(names);
        if (missing.length)
          failures.push(
            `run ${run}: migra misses ${missing.length} changed objects (${missing.slice(0, 4).join(', ')})`,
          );
        else rec('migra', ms);
        if (run === 1)
          notes.push(
            `migra F0 -> F1: ${statements.length} statements, ${expectedObjects.size - missing.length}/${expectedObjects.size} changed objects named${extra.length ? `, ${new Set(extra).size} others (dependent views dropped and re-created)` : ''}`,
          );
      }

      // --- Liquibase
      if (!('error' in lb)) {
        const l = await db('liquibase');
        const t = await L.liquibaseUpdate(lb.bin, root, 'changelog.sql', l);
        if (t.code !== 0)
          failures.push(`run ${run}: liquibase update exited ${t.code}: ${(t.stderr || t.stdout).slice(0, 500)}`);
        else if (check('liquibase update', expectedBase, await L.catalogSummary(l, LIKE), run)) {
          rec('liquibase', t.ms);
          if (rows.get('full-cli')?.samples.length === run) pair('liquibase-cli', t.ms / fullCli.ms);
          if (rows.get('full-cli-cold')?.samples.length === run) pair('liquibase-cli-cold', t.ms / fullCliCold.ms);
        }
      }
      // --- node-pg-migrate
      if (!('error' in npm)) {
        const n = await db('node_pg_migrate');
        const t = (await quiet(), await L.nodePgMigrateUp(npm.bin, join(root, 'node-pg-migrate'), n));
        if (t.code !== 0)
          failures.push(`run ${run}: node-pg-migrate up exited ${t.code}: ${(t.stderr || t.stdout).slice(0, 500)}`);
        else if (check('node-pg-migrate up', expectedBase, await L.catalogSummary(n, LIKE), run)) {
          rec('node-pg-migrate', t.ms);
          if (rows.get('full-cli')?.samples.length === run) pair('node-pg-migrate-cli', t.ms / fullCli.ms);
          if (rows.get('full-cli-cold')?.samples.length === run)
            pair('node-pg-migrate-cli-cold', t.ms / fullCliCold.ms);
        }
      }

      // Start-up: `node -e 0` and `dbee --help` (compiled), alternating; the paired difference of their CPU times.
      for (let i = 0; i < START_PAIRS; i++) {
        const node = await L.timeCpu(process.execPath, ['-e', '0']);
        const help = await L.dbeeProcess(['--help'], CLI_ENV);
        if (help.code !== 0) failures.push(`run ${run}: dbee --help exited ${help.code}: ${help.stderr.slice(0, 300)}`);
        else pair('help-cpu-over', help.cpuMs - node.cpuMs);
      }

      for (const name of dbs) await L.dropDb(name);
      console.log(
        `  run ${run}/${RUNS} done, load average ${L.load()}; floors ${[floorA, floorB, floorD, floorC, floorE].map((x) => L.fmtMs(x)).join(', ')}`,
      );
    }

    // --- the table
    const med = (k: string) => L.median(rows.get(k)?.samples ?? []);
    const floor = med('floor');
    const floorChanges = med('floor-changes');
    const liquibase = med('liquibase');
    const migra = med('migra');
    const cell = (k: string, missing = 'not measured') => (rows.get(k)?.samples.length ? L.fmtMs(med(k)) : missing);
    const range = (k: string) => {
      const s = rows.get(k)?.samples ?? [];
      return s.length ? `${L.fmtMs(Math.min(...s))} - ${L.fmtMs(Math.max(...s))} (${s.length})` : '-';
    };
    const ratio = (k: string, base: number) =>
      rows.get(k)?.samples.length && Number.isFinite(base) ? L.fmtRatio(med(k) / base) : '-';
    /** Median of the paired ratios of `k`, with their range. */
    const paired = (k: string) => {
      const r = pairs.get(k) ?? [];
      return r.length
        ? `${L.fmtRatio(L.median(r))} paired (${L.fmtRatio(Math.min(...r))} - ${L.fmtRatio(Math.max(...r))})`
        : '-';
    };
    const peerRatio = (k: string, peer: number) =>
      rows.get(k)?.samples.length && Number.isFinite(peer) ? `${L.fmtRatio(peer / med(k))} faster` : '-';
    const body: string[][] = [
      ['psql -1 -f, full script (floor)', cell('floor'), range('floor'), '1.00x', '', ''],
      [
        `psql -1 -f, change set (${changeStatements} statements)`,
        cell('floor-changes'),
        range('floor-changes'),
        '',
        '',
        '',
      ],
      ['dbee full deploy, in-process', cell('full'), range('full'), paired('full'), peerRatio('full', liquibase), ''],
      [
        'dbee full deploy, CLI process (compiled)',
        cell('full-cli'),
        range('full-cli'),
        paired('full-cli'),
        peerRatio('full-cli', liquibase),
        '',
      ],
      [
        'dbee full deploy, CLI process, no caches (parse, compile)',
        cell('full-cli-cold'),
        range('full-cli-cold'),
        paired('full-cli-cold'),
        '',
        '',
      ],
      [
        'dbee full deploy, in-process, transaction: project',
        cell('full-project'),
        range('full-project'),
        paired('full-project'),
        '',
        '',
      ],
      ['dbee no-op deploy, in-process', cell('noop'), range('noop'), '', '', ''],
      ['dbee no-op deploy, CLI process', cell('noop-cli'), range('noop-cli'), '', '', ''],
      [
        `dbee incremental deploy (${rows.get('incr')?.note ?? '?'}), model not cached`,
        cell('incr'),
        range('incr'),
        `${ratio('incr', floorChanges)} of change-set floor`,
        '',
        '',
      ],
      [
        'dbee incremental deploy, desired model cached',
        cell('incr-cached'),
        range('incr-cached'),
        `${ratio('incr-cached', floorChanges)} of change-set floor; ${paired('incr-budget')} of change-set floor + compiles`,
        '',
        '',
      ],
      [
        'dbee incremental deploy, model cached, catalog as last deployed',
        cell('incr-same'),
        range('incr-same'),
        `${ratio('incr-same', floorChanges)} of change-set floor; ${paired('incr-same-budget')} of change-set floor + compiles`,
        '',
        '',
      ],
      [
        'dbee rollback of the change set',
        rollback.implemented ? cell('rollback', 'failed, see below') : 'not implemented yet',
        range('rollback'),
        '',
        '',
        '',
      ],
      ['dbee diff F0 vs sources, uncached', cell('diff-src'), range('diff-src'), '', '', peerRatio('diff-src', migra)],
      [
        'dbee diff F0 vs sources, cached',
        cell('diff-src-cached'),
        range('diff-src-cached'),
        '',
        '',
        peerRatio('diff-src-cached', migra),
      ],
      [
        'dbee diff F0 vs F1 (env vs env), uncached',
        cell('diff-env'),
        range('diff-env'),
        '',
        '',
        peerRatio('diff-env', migra),
      ],
      [
        'dbee diff F0 vs F1 (env vs env), cached',
        cell('diff-env-cached'),
        range('diff-env-cached'),
        '',
        '',
        peerRatio('diff-env-cached', migra),
      ],
      [
        `Liquibase update${lbVersion ? ` ${lbVersion.split(' ')[0]}` : ''}, process`,
        'error' in lb ? `n/a: ${lb.error.slice(0, 60)}` : cell('liquibase', 'failed, see below'),
        range('liquibase'),
        ratio('liquibase', floor),
        '',
        '',
      ],
      [
        `node-pg-migrate up${'error' in npm ? '' : ` ${npm.version}`}, process`,
        'error' in npm ? `n/a: ${npm.error.slice(0, 60)}` : cell('node-pg-migrate', 'failed, see below'),
        range('node-pg-migrate'),
        ratio('node-pg-migrate', floor),
        '',
        '',
      ],
      [
        'migra F0 -> F1, in-process',
        'error' in migraMod ? `n/a: ${migraMod.error.slice(0, 60)}` : cell('migra', 'failed, see below'),
        range('migra'),
        '',
        '',
        '',
      ],
    ];
    console.log('');
    console.log(
      L.table(['measurement', 'median', 'min - max (runs)', 'vs psql floor', 'vs Liquibase', 'vs migra'], body),
    );
    console.log('');
    const goals = benchGoals({ pairs, med, npm, lb, objects: gen.objects });
    const judged = G.printGoals(goals, startLoad);
    console.log('');
    G.writeDocs(
      'deploy',
      `\`npm run bench\`: ${gen.objects} objects in ${gen.files} files, a change set of ${cs.changes.length} changes, ${RUNS} runs.\n\n${G.goalsTable(judged)}\n\n${L.table(['measurement', 'median', 'min - max (runs)', 'vs psql floor', 'vs Liquibase', 'vs migra'], body)}`,
    );
    console.log('checks:');
    console.log(
      `  schema after every deploy / update compared with the floor's (counts + MD5 of all definitions): ${failures.length ? `${failures.length} FAILURES` : 'all equal'}`,
    );
    for (const n of notes) console.log(`  ${n}`);
    for (const f of failures) console.log(`  FAILED ${f}`);
    if (!rollback.implemented) console.log('  rollback: not implemented yet');
    if (failures.length) process.exitCode = 1;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** The goals of issue #61 this benchmark judges, from the paired samples of its runs. */
function benchGoals(m: {
  pairs: Map<string, number[]>;
  med: (k: string) => number;
  npm: { error: string } | { version: string };
  lb: { error: string } | { version: string };
  objects: number;
}): G.Goal[] {
  const p = (k: string) => m.pairs.get(k) ?? [];
  const worstOf = (xs: readonly number[]) =>
    xs.length ? `worst pair ${G.ratio(Math.min(...xs))}, median ${G.ratio(G.median(xs))}` : 'not measured';
  const peer = (key: string, name: string, peerInfo: { error: string } | { version: string }): G.Goal => ({
    label: `faster than ${name}, whole process against whole process: >= 1.2x at the worst pair of the run`,
    samples: p(`${key}-cli`),
    bound: 'min',
    limit: 1.2,
    judge: 'worst',
    why: 'error' in peerInfo ? `${name} not measured: ${peerInfo.error}` : `${name} not measured (see the failures)`,
    detail: `${name} ${L.fmtMs(m.med(key))}, dbee CLI ${L.fmtMs(m.med('full-cli'))} (medians); the first dbee process of a fresh runner (no caches): ${worstOf(p(`${key}-cli-cold`))}`,
  });
  return [
    {
      label: `full deploy, in-process, ${m.objects.toLocaleString('en-US')} objects: <= 1.2x the psql -1 floor`,
      samples: p('full'),
      bound: 'max',
      limit: 1.2,
      detail: `dbee ${L.fmtMs(m.med('full'))}, floor ${L.fmtMs(m.med('floor'))} (medians)`,
    },
    {
      label: "CLI process: its CPU <= the in-process deploy's CPU + 150 ms",
      samples: p('cli-cpu-over'),
      bound: 'max',
      limit: 150,
      format: G.ms,
      detail: "paired difference of the full deploy's CPU times",
    },
    {
      label: '(target on a quiet machine) full deploy as a CLI process: <= 1.7x the psql -1 floor',
      samples: p('full-cli'),
      bound: 'max',
      limit: 1.7,
    },
    {
      label: 'start-up: `dbee --help` CPU <= `node -e 0` CPU + 60 ms',
      samples: p('help-cpu-over'),
      bound: 'max',
      limit: 60,
      format: G.ms,
      detail: `${START_PAIRS} pairs per run`,
    },
    {
      label:
        "incremental deploy (model cached): <= 2x (its change set's psql floor + the smoke baseline's compiles by psql)",
      samples: p('incr-budget'),
      bound: 'max',
      limit: 2,
      detail: `deploy ${L.fmtMs(m.med('incr-cached'))}, change-set floor ${L.fmtMs(m.med('floor-changes'))}, compiles ${L.fmtMs(m.med('compile-floor'))} (medians); figure = deploy / both; to a database as its last deployment left it (no fingerprint read before): ${G.ratio(G.median(p('incr-same-budget')))}`,
    },
    {
      label:
        'incremental deploy: client CPU <= 1.5x the client CPU of planning it alone (deploy --dry-run --no-verify)',
      samples: p('incr-cpu'),
      bound: 'max',
      limit: 1.5,
      detail: `deploy ${L.fmtMs(m.med('incr-cpu'))}, planning ${L.fmtMs(m.med('plan-only-cpu'))} of CPU (medians)`,
    },
    {
      label: 'uncached diff (env vs sources, shadow build included): <= 1.25x the psql -1 floor of the project',
      samples: p('diff-src'),
      bound: 'max',
      limit: 1.25,
      detail: `diff ${L.fmtMs(m.med('diff-src'))} (median)`,
    },
    peer('node-pg-migrate', 'node-pg-migrate', m.npm),
    peer('liquibase', 'Liquibase', m.lb),
  ];
}

// `--scale [1000,5000[,10000]]`: the scaling table instead (tools/bench/scale.ts).
const scaleAt = argv.indexOf('--scale');
if (scaleAt >= 0) {
  const sizes = /^\d+(,\d+)*$/.test(argv[scaleAt + 1] ?? '') ? argv[scaleAt + 1]!.split(',').map(Number) : [1000, 5000];
  L.runMain(() => scaleMain(sizes, RUNS));
} else L.runMain(main);
