'use strict';
// `node -r tools/require-times.js <script>`: on exit, prints to stderr the modules whose load took over 5 ms (including
// what they load), slowest first, with who required them, then how many modules loaded, by package (a dependency)
// or folder of a workspace package. Used by `npm run bench:start -- --profile`.
const Module = require('node:module');
const REPO = `${require('node:path').resolve(__dirname, '..')}/`;
const orig = Module._load;
const stack = [];
const rows = [];
Module._load = function (request, parent, _isMain) {
  const t = process.hrtime.bigint();
  stack.push(0n);
  try {
    return orig.apply(this, arguments);
  } finally {
    const total = process.hrtime.bigint() - t;
    const child = stack.pop();
    if (stack.length) stack[stack.length - 1] += total;
    rows.push({
      request,
      self: Number(total - child) / 1e6,
      total: Number(total) / 1e6,
      depth: stack.length,
      from: parent && parent.filename ? parent.filename.replace(/.*node_modules\//, 'nm/').replace(REPO, '') : '',
    });
  }
};
process.on('exit', () => {
  const agg = new Map();
  for (const r of rows) {
    const k = r.request;
    const a = agg.get(k) || { total: 0, n: 0, from: r.from, depth: r.depth };
    a.total = Math.max(a.total, r.total);
    a.n++;
    agg.set(k, a);
  }
  const top = [...agg]
    .filter(([, a]) => a.total > 5)
    .sort((a, b) => b[1].total - a[1].total)
    .slice(0, 40);
  process.stderr.write(
    top.map(([k, a]) => `${a.total.toFixed(1).padStart(7)} ms d${a.depth} ${k}  <- ${a.from}`).join('\n') + '\n',
  );
  // Per module, what a process pays grows with the count (resolution, reading, compiling or the code cache, the module's
  // own code): the count by package says where it comes from.
  const files = Object.keys(require.cache);
  const byPackage = new Map();
  for (const f of files) {
    const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f);
    const own = /\/(packages|plugins)\/([^/]+)\/(?:dist|src)\/(?:([^/]+)\/)?/.exec(f);
    const key = dep ? dep[1] : own ? `${own[2]}/${own[3] ?? '.'}` : f.replace(REPO, '');
    byPackage.set(key, (byPackage.get(key) || 0) + 1);
  }
  const counts = [...byPackage].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`);
  process.stderr.write(`${files.length} modules: ${counts.join(', ')}\n`);
});
