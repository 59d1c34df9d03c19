'use strict';
/**
 * The checkout a before/after benchmark compares this one with (`--against`, `--baseline`): a folder whose dist/ is
 * built. Its `@dbee/*` packages must be its own: a copy given this checkout's `node_modules` by a link resolves
 * `@dbee/core` and `@dbee/postgres` back here (npm's workspace links are relative), and the "other" build would then
 * run this checkout's core and engine, comparing the same code with itself. Refused with what to do instead.
 */
const { existsSync, realpathSync } = require('node:fs');
const { dirname, join, relative, resolve, isAbsolute } = require('node:path');

/**
 * Where `pkg`'s package.json is found from `from` by Node's lookup of node_modules folders. Not `require.resolve`:
 * under tools/run.js, dev-register.js maps every `@dbee/*` request to this checkout's sources, so the other
 * checkout's own packages would be reported as this one's.
 */
function packageJsonOf(pkg, from) {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', pkg, 'package.json');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

function checkOtherBuild(dir) {
  const root = realpathSync(resolve(dir));
  const from = join(root, 'packages', 'cli');
  const bad = [];
  for (const pkg of ['@dbee/core', '@dbee/postgres']) {
    const found = packageJsonOf(pkg, from);
    if (!found) {
      bad.push(`${pkg} does not resolve from ${from}`);
      continue;
    }
    const at = realpathSync(found);
    const rel = relative(root, at);
    if (rel.startsWith('..') || isAbsolute(rel)) bad.push(`${pkg} resolves to ${at}, outside ${root}`);
  }
  if (bad.length)
    throw new Error(
      `the build to compare with (${dir}) does not run its own packages: ${bad.join('; ')}.\n` +
        `Give it its own node_modules (npm ci there), or link every entry of this checkout's node_modules except @dbee, ` +
        `and link node_modules/@dbee/<name> to its own packages/<name> (plugins/nx for @dbee/nx).`,
    );
  return root;
}

module.exports = { checkOtherBuild };
