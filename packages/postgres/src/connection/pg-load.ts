/**
 * Loads node-postgres (`pg`) before anything else of this package imports it, without its Cloudflare Workers probe
 * pulling in Node's fetch implementation: on Node 20, where there is no global `navigator`, `pg/lib/stream.js` builds a
 * `new Response(...)` while it loads to tell a Worker from Node, and the first use of `Response` loads and compiles
 * undici (35-90 ms of a `dbee deploy` process's CPU in a profile, for nothing dbee uses). While `pg` loads, `Response`
 * reads as undefined (the probe's answer is then "not a Worker", as it is); Node's lazy global is put back right after,
 * untouched. Node >= 21 has `navigator`, so the probe never reaches `Response` there and this changes nothing.
 */
const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'Response');
const lazy = descriptor?.configurable === true && typeof descriptor.get === 'function' && !('navigator' in globalThis);
if (lazy) Object.defineProperty(globalThis, 'Response', { value: undefined, configurable: true, writable: true });
try {
  require('pg');
} finally {
  if (lazy) Object.defineProperty(globalThis, 'Response', descriptor);
}
export {};
