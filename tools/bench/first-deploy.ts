/**
 * The CLI's CPU against a new process's first in-process deploy (issue 90, the CLI's goal): per round, the compiled
 * CLI's full deploy of the generated project into a new database (`/usr/bin/time`), `node -e 0`, and a new Node process
 * (tools/bench/first-deploy.js) that loads the same compiled package and deploys in-process four times, each into a new
 * database: the CPU of loading dbee, of its first deploy and of the next ones. The CLI's compile cache is filled by an
 * untimed deploy first, as `npm run bench`'s CLI rows.
 *
 *   node tools/run.js tools/bench/first-deploy.ts [--rounds 4]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateProject } from './generate';
import * as L from './lib';
const REPO = L.REPO;
const argv = process.argv.slice(2);
const ROUNDS = Number(argv.includes('--rounds') ? argv[argv.indexOf('--rounds') + 1] : 4);
L.runMain(async () => {
  const root = mkdtempSync(join(tmpdir(), 'dbee-first-deploy-'));
  if (!L.buildDist()) throw new Error('npm run build failed: the CLI and the in-process side run the compiled dist/');
  const ws = join(root, 'ws');
  L.writeWorkspace(ws, ['d']);
  generateProject(join(ws, 'gen'), { name: 'gen', objects: 1000 });
  try {
    const seed = await L.createDb('first');
    await L.timeCpu(
      process.execPath,
      [join(REPO, 'packages/cli/bin/dbee.js'), 'deploy', 'gen', '--env', 'd', '--cwd', ws],
      { cwd: REPO, env: { ...process.env, DBEE_USE_DIST: '1', [L.envVar('d')]: L.dbUrl(seed) } },
    );
    await L.dropDb(seed);
    for (let i = 0; i < ROUNDS; i++) {
      const db = await L.createDb('first');
      await L.quietServer();
      const cli = await L.timeCpu(
        process.execPath,
        [join(REPO, 'packages/cli/bin/dbee.js'), 'deploy', 'gen', '--env', 'd', '--cwd', ws],
        { cwd: REPO, env: { ...process.env, DBEE_USE_DIST: '1', [L.envVar('d')]: L.dbUrl(db) } },
      );
      await L.dropDb(db);
      const nodeE = await L.timeCpu(process.execPath, ['-e', '0'], { cwd: REPO, env: process.env });
      const inproc = await L.timeCpu(
        process.execPath,
        [
          join(REPO, 'tools/bench/first-deploy.js'),
          REPO,
          ws,
          L.serverUrl().replace(/\/[^/]*$/, ''),
          L.envVar('d'),
          '4',
        ],
        { cwd: REPO, env: process.env },
      );
      console.log(
        `round ${i + 1}: CLI cpu ${cli.cpuMs} ms; node -e 0 ${nodeE.cpuMs} ms; in-process process ${inproc.cpuMs} ms: ${inproc.stdout.trim()} ${inproc.stderr.slice(0, 300)}; load ${L.load()}`,
      );
    }
  } finally {
    await L.dropAll();
    rmSync(root, { recursive: true, force: true });
  }
});
