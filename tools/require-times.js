'use strict';
// `node -r tools/require-times.js <script>`: on exit, prints to stderr the modules whose load took over 5 ms (including
// what they load), slowest first, with who required them. Used by `npm run bench:start -- --profile`.
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
});
