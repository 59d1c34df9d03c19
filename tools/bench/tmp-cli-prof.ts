import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { generateProject } from './generate';
import { printProfile } from './cpu-profile';
import * as L from './lib';
L.runMain(async () => {
  const root = mkdtempSync(join(tmpdir(), 'dbee-cliprof-'));
  const ws = join(root, 'ws');
  L.writeWorkspace(ws, ['d']);
  generateProject(join(ws, 'gen'), { name: 'gen', objects: 1000 });
  const run = (db: string, prof?: string) => execFileSync(process.execPath, [...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : []), join(L.REPO, 'packages/cli/bin/dbee.js'), 'deploy', 'gen', '--env', 'd', '--cwd', ws], { cwd: L.REPO, env: { ...process.env, DBEE_USE_DIST: '1', [L.envVar('d')]: L.dbUrl(db) }, stdio: 'pipe' });
  for (let i = 0; i < 2; i++) { const d = await L.createDb('cp'); run(d); await L.dropDb(d); }
  for (let i = 0; i < Number(process.argv[2] ?? 2); i++) {
    const d = await L.createDb('cp');
    const dir = join(root, `prof${i}`);
    run(d, dir);
    await L.dropDb(d);
    const f = readdirSync(dir)[0]!;
    printProfile(`CLI deploy ${i}`, join(dir, f), 40);
  }
});
