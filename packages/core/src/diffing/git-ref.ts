import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DbeeError } from '../errors';
import { settleBackground } from '../background';

/**
 * The workspace as it was at a git ref, extracted (dbee.yaml and every database project, nothing else) into a
 * temporary folder, straight from git's object store: no checkout, the working tree is untouched. `dispose` removes
 * it once the cache files dbee writes in the background (into the tree's `.dbee/cache`) are done, or they would
 * re-create it.
 */
export function materializeRef(workspaceRoot: string, ref: string): { root: string; dispose(): Promise<void> } {
  const git = (args: string[], input?: Buffer) => {
    const r = spawnSync('git', args, { cwd: workspaceRoot, input, maxBuffer: 1 << 30 });
    if (r.status !== 0) {
      throw new DbeeError(`git ${args.join(' ')} failed: ${r.stderr.toString().trim().split('\n')[0]}`, {
        code: 'GIT_REF',
        hint: `check that "${ref}" is a commit, branch or tag of this repository (fetch it in shallow CI clones)`,
      });
    }
    return r.stdout;
  };
  const prefix = git(['rev-parse', '--show-prefix']).toString().trim();
  const tree = `${ref}:${prefix}`;
  git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  const files = git(['ls-tree', '-r', '--name-only', tree]).toString().split('\n').filter(Boolean);
  const roots = files
    .filter((f) => f === 'db.yaml' || f.endsWith('/db.yaml'))
    .map((f) => (f === 'db.yaml' ? '.' : f.slice(0, -'/db.yaml'.length)));
  if (!files.includes('dbee.yaml')) {
    throw new DbeeError(`there is no dbee.yaml at ${ref}`, {
      code: 'GIT_REF',
      hint: 'pick a ref where the workspace already used dbee',
    });
  }
  const root = mkdtempSync(join(tmpdir(), 'dbee-ref-'));
  try {
    const tar = git(['archive', '--format=tar', tree, '--', 'dbee.yaml', ...roots]);
    const x = spawnSync('tar', ['-x', '-C', root], { input: tar });
    if (x.status !== 0) throw new Error(`tar failed: ${x.stderr.toString()}`);
  } catch (e) {
    rmSync(root, { recursive: true, force: true });
    throw e;
  }
  return {
    root,
    async dispose() {
      await settleBackground();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
