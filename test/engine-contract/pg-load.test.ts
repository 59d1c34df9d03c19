import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';

// Loading the PostgreSQL engine (as a `dbee deploy` process does, from the compiled dist/) does not load Node's fetch
// implementation (undici) through node-postgres's Cloudflare Workers probe (packages/postgres/src/connection/pg-load.ts), and
// leaves the global `Response` as it was.
it('loads the PostgreSQL engine without loading undici, and Response still works after', () => {
  const engine = join(resolve(__dirname, '..', '..'), 'packages', 'postgres', 'dist', 'engine.js');
  const script = `require(${JSON.stringify(engine)});
    const undici = process.moduleLoadList.filter((m) => m.includes('undici')).length;
    console.log(JSON.stringify({ undici, response: new Response('x').status, pg: typeof require('pg').Client }));`;
  const out = execFileSync(process.execPath, ['-e', script], { cwd: __dirname, encoding: 'utf8' });
  const lines = out.trim().split('\n');
  expect(JSON.parse(lines[lines.length - 1]!)).toEqual({ undici: 0, response: 200, pg: 'function' });
});
