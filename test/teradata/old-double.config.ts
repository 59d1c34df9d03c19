import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defineConfig } from 'vitest/config';
import base from '../../vitest.config';

/**
 * Runs test/teradata/double.test.ts against an OLDER test double, to show that each rule it tests is new (issue #17,
 * point 7: "each of the test double's new rules has a test that fails on the old double"). Not part of `npm test`:
 *
 *   npx vitest run --config test/teradata/old-double.config.ts                       # the lenient double (58d6c5a)
 *   DBEE_OLD_DOUBLE=<commit> npx vitest run --config test/teradata/old-double.config.ts # the double of <commit>
 *
 * Every test is expected to FAIL here. It copies packages/teradata/src to a temporary folder, puts the double's files
 * (src/testing/fake-connection.ts, fake-sql.ts, and fake-ddl.ts where it existed) of that commit in it, and points
 * the tests' import of the double (`../../packages/teradata/testing`) there. Nothing in the working tree changes.
 */
const REPO = resolve(__dirname, '../..');
const commit = process.env.DBEE_OLD_DOUBLE ?? '58d6c5a';
const dir = mkdtempSync(join(tmpdir(), 'dbee-old-double-'));
cpSync(join(REPO, 'packages/teradata/src'), dir, { recursive: true });
mkdirSync(join(dir, 'testing'), { recursive: true });
// The old doubles import the package's modules from a flat src/ (`../splitter`); they now live in parse/, render/,
// introspect/ and bteq/: a re-export at each old place.
for (const folder of ['parse', 'render', 'introspect', 'bteq'])
  for (const f of readdirSync(join(dir, folder)).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts')))
    if (!existsSync(join(dir, f)))
      writeFileSync(join(dir, f), `export * from './${folder}/${f.replace(/\.ts$/, '')}';\n`);
// The double lived in packages/teradata/src/testing/ until it moved out of src/ (then its imports say ../src/...).
const files = execFileSync('git', ['ls-tree', '--name-only', commit, 'packages/teradata/src/testing/'], {
  cwd: REPO,
  encoding: 'utf8',
})
  .split('\n')
  .filter(Boolean);
for (const f of files) {
  writeFileSync(
    join(dir, 'testing', f.split('/').pop()!),
    execFileSync('git', ['show', `${commit}:${f}`], { cwd: REPO, encoding: 'utf8' }),
  );
}
// The tests import FakeTeradataSession and createFakeConnection, which every version of the double exports.
writeFileSync(
  join(dir, 'testing', 'old-index.ts'),
  `export { FakeTeradataSession, createFakeConnection, fakeDriver } from './fake-connection';\n`,
);

// The alias goes first: the first matching alias wins, and the repository's maps every @dbee/teradata/* to src/.
const aliases = (base.resolve?.alias ?? []) as { find: RegExp; replacement: string }[];
export default defineConfig({
  ...base,
  resolve: {
    alias: [
      {
        find: /^(@dbee\/teradata\/testing|\.\.\/\.\.\/packages\/teradata\/testing)$/,
        replacement: join(dir, 'testing', 'old-index.ts'),
      },
      ...aliases,
    ],
  },
  test: { ...base.test, include: ['test/teradata/double.test.ts'] },
});
