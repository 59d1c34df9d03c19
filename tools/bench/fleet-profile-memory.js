'use strict';
// Preloaded (`-r`) into a dbee process by fleet-profile.ts: its memory sampled every 20 ms, the peaks written to
// $DBEE_FLEET_PROFILE_MEMORY (MB) when it exits.
const { writeFileSync } = require('node:fs');
const peak = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
setInterval(() => {
  const m = process.memoryUsage();
  for (const k of Object.keys(peak)) peak[k] = Math.max(peak[k], m[k]);
}, 20).unref();
process.on('exit', () => {
  const out = process.env.DBEE_FLEET_PROFILE_MEMORY;
  if (out)
    writeFileSync(
      out,
      JSON.stringify({ peak: Object.fromEntries(Object.keys(peak).map((k) => [k, Math.round(peak[k] / 1048576)])) }),
    );
});
