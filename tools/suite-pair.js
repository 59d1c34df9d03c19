#!/usr/bin/env node
'use strict';
/**
 * The test suite's time as a pair (issue #90, decision 8): the base commit and the working tree, on the same machine
 * in one run, alternated, so that the machine's speed moves both sides. A change must keep the suite within 1.05x of
 * its base (the median of the paired ratios of wall time; CPU time printed beside it).
 *
 *   node tools/suite-pair.js [--base <ref>] [--runs <n>] [-- <vitest filters or files>...]
 *
 * `--base`: the commit to compare with (default: `git merge-base HEAD main`). It is checked out, detached, in a git
 * worktree in a temporary folder (removed at the end), whose `node_modules` is this checkout's, entry by entry, except
 * the workspace's own packages (`@dbee/*`...), which are linked to the base's own folders. Both sides' `dist/` are built
 * first (`tsc -b`, untimed), then each round runs `vitest run <filters>` on each side under `/usr/bin/time`, the
 * order swapped every round (default 1 round: the whole suite takes about ten minutes a side; give filters to pair a
 * subset, e.g. the files a change touches, with `--runs 3`). Each side keeps its own Vitest cache. The load average is
 * printed at the start and end of every run. Exit code 0 when the change is within 1.05x, 1 when not, 2 when a side
 * could not run.
 */
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..');
const GOAL = 1.05;
const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const own = dash < 0 ? argv : argv.slice(0, dash);
const filters = dash < 0 ? [] : argv.slice(dash + 1);
const option = (name, fallback) => (own.includes(`--${name}`) ? own[own.indexOf(`--${name}`) + 1] : fallback);
const git = (...args) =>
  execFileSync('git', args, { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const base = git('rev-parse', option('base', git('merge-base', 'HEAD', 'main')));
const runs = Number(option('runs', '1'));
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/** A worktree of `base` whose node_modules shares this checkout's third-party packages. */
function baseWorktree() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbee-suite-base-'));
  const tree = path.join(dir, 'tree');
  git('worktree', 'add', '--detach', tree, base);
  const mine = path.join(REPO, 'node_modules');
  const theirs = path.join(tree, 'node_modules');
  fs.mkdirSync(theirs);
  for (const entry of fs.readdirSync(mine)) {
    if (entry === '.vite' || entry === '.cache') continue; // each side its own caches
    const from = path.join(mine, entry);
    const scoped = entry.startsWith('@') && fs.readdirSync(from).some((e) => isWorkspaceLink(path.join(from, e)));
    if (scoped) {
      fs.mkdirSync(path.join(theirs, entry));
      for (const e of fs.readdirSync(from)) linkLike(path.join(from, e), path.join(theirs, entry, e));
    } else linkLike(from, path.join(theirs, entry));
  }
  return { dir, tree };
}

/** A workspace package's link (`../../packages/core`): relative, into the checkout itself. */
function isWorkspaceLink(p) {
  if (!fs.lstatSync(p).isSymbolicLink()) return false;
  const target = fs.readlinkSync(p);
  return (
    !path.isAbsolute(target) && !path.resolve(path.dirname(p), target).includes(`${path.sep}node_modules${path.sep}`)
  );
}

/** The same relative link for a workspace package (it then points into the base's tree), else a link to this one's. */
function linkLike(from, to) {
  fs.symlinkSync(isWorkspaceLink(from) ? fs.readlinkSync(from) : from, to);
}

function build(tree) {
  const r = spawnSync(
    process.execPath,
    [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-b', 'tsconfig.build.json'],
    {
      cwd: tree,
      stdio: 'inherit',
    },
  );
  if (r.status !== 0) throw new Error(`tsc -b failed in ${tree}`);
}

/** One `vitest run` of a side: wall and CPU seconds (the processes it started included), and its exit code. */
function suite(side, tree) {
  const before = load();
  const r = spawnSync(
    '/usr/bin/time',
    [
      '-f',
      'suite-pair-time %e %U %S',
      process.execPath,
      path.join(REPO, 'node_modules/vitest/vitest.mjs'),
      'run',
      ...filters,
    ],
    { cwd: tree, encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env, FORCE_COLOR: '0' } },
  );
  const m = /suite-pair-time ([\d.]+) ([\d.]+) ([\d.]+)/.exec(r.stderr);
  if (!m) throw new Error(`${side}: /usr/bin/time printed nothing: ${r.stderr.slice(-2000)}`);
  const plain = r.stdout.replace(/\u001b\[[0-9;]*m/g, ''); // Vitest's colours
  const summary = /Tests\s+([^\n]+)/.exec(plain)?.[1]?.trim() ?? '';
  console.log(
    `${side}: ${Number(m[1]).toFixed(1)} s wall, ${(Number(m[2]) + Number(m[3])).toFixed(1)} s CPU, exit ${r.status}` +
      ` (tests: ${summary}); load ${before} -> ${load()}`,
  );
  return { wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]), code: r.status };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function main() {
  console.log(
    `suite pair: base ${base.slice(0, 12)} against the working tree, ${runs} round(s), filters: ${filters.join(' ') || '(the whole suite)'}`,
  );
  const { dir, tree } = baseWorktree();
  let code = 0;
  try {
    build(REPO);
    build(tree);
    const sides = { base: tree, change: REPO };
    const pairs = [];
    for (let i = 0; i < runs; i++) {
      const order = i % 2 ? ['change', 'base'] : ['base', 'change'];
      const got = {};
      for (const side of order) got[side] = suite(side, sides[side]);
      if (got.base.code !== got.change.code) console.log('the sides ended differently: compare their failures first');
      pairs.push({ wall: got.change.wall / got.base.wall, cpu: got.change.cpu / got.base.cpu });
    }
    const wall = median(pairs.map((p) => p.wall));
    const cpu = median(pairs.map((p) => p.cpu));
    console.log(
      `change / base, median of paired ratios: wall ${wall.toFixed(3)}x (${pairs.map((p) => p.wall.toFixed(3)).join(' ')}),` +
        ` CPU ${cpu.toFixed(3)}x (${pairs.map((p) => p.cpu.toFixed(3)).join(' ')}); goal <= ${GOAL}x: ${wall <= GOAL ? 'met' : 'NOT MET'}`,
    );
    code = wall <= GOAL ? 0 : 1;
  } catch (e) {
    console.error(String(e instanceof Error ? e.message : e));
    code = 2;
  } finally {
    spawnSync('git', ['worktree', 'remove', '--force', tree], { cwd: REPO });
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.exit(code);
}

main();
