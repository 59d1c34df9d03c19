import { afterEach, describe, expect, it } from 'vitest';
import { TestWorkspace } from '../testing/workspace';
import { SOURCE_GLOBS, SOURCES_NAMED_INPUT } from './targets';

// Nx's own globbing and hashing of workspace files (the native workspace context its task hasher and `nx affected`
// use), loaded as Nx loads it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nxFiles = require('nx/src/utils/workspace-context') as {
  globWithWorkspaceContextSync(root: string, globs: string[]): string[];
  hashWithWorkspaceContext(root: string, globs: string[]): Promise<string>;
  resetWorkspaceContext(): void;
};

describe('SOURCES_NAMED_INPUT', () => {
  let workspace: TestWorkspace | undefined;
  afterEach(() => {
    nxFiles.resetWorkspaceContext();
    workspace?.remove();
    workspace = undefined;
  });

  it("matches, by Nx's globbing, the files and the hash of the six globs apart, at the root and in a folder", async () => {
    const project = (root: string) => ({
      [`${root}db.yaml`]: 'x',
      [`${root}db.yaml.bak`]: 'x',
      [`${root}top.sql`]: 'x',
      [`${root}schema/s/tables/t.sql`]: 'x',
      [`${root}schema/s/README.md`]: 'x',
      [`${root}a.expand.yaml`]: 'x',
      [`${root}deep/b/c.expand.yaml`]: 'x',
      [`${root}migrations/baseline.yaml`]: 'x',
      [`${root}migrations/other.yaml`]: 'x',
      [`${root}smoke/checks.yaml`]: 'x',
      [`${root}smoke/nested/more.yml`]: 'x',
      [`${root}smoke/data.json`]: 'x',
      [`${root}other.yaml`]: 'x',
    });
    workspace = new TestWorkspace({ ...project(''), ...project('db/core/'), ...project('db/sales/') });
    for (const root of ['.', 'db/core']) {
      // Nx replaces {projectRoot} and drops a leading './' (a project at the workspace root).
      const glob = (g: string) => g.replace('{projectRoot}', root).replace(/^\.\//, '');
      const six = SOURCE_GLOBS.map((g) => glob(`{projectRoot}/${g}`));
      const one = SOURCES_NAMED_INPUT.map(glob);
      const apart = nxFiles.globWithWorkspaceContextSync(workspace.root, six).sort();

      expect(one).toHaveLength(1);
      // The project's 8 files; at the root, also the other projects' *.sql and *.expand.yaml (4 each).
      expect(apart).toHaveLength(root === '.' ? 16 : 8);
      expect(nxFiles.globWithWorkspaceContextSync(workspace.root, one).sort()).toEqual(apart);
      expect(await nxFiles.hashWithWorkspaceContext(workspace.root, one)).toBe(
        await nxFiles.hashWithWorkspaceContext(workspace.root, six),
      );
    }
  });
});
