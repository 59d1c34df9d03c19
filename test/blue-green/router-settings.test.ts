import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { engineByName } from '@dbee/cli';
import { DbeeError, requireRole, Workspace } from '@dbee/core';
import { blueGreenConfig } from '../../packages/core/src/operations/strategies/blue-green/settings';
import { context } from './setup';
import { tempWorkspace } from '../support/workspace';

// Issue #92, the last seams: core's configuration names no router product. A router the engine drives is declared by
// the engine (`BlueGreenRole.routers`: the postgres engine's `pgbouncer`, with the schema of its settings); dbee.yaml
// keeps its keys (`blueGreen.router.pgbouncer: { admin, config, database, timeout }`), and a mistake in them is still
// refused with its file and line, now through the engine's schema when a blue/green phase reads them.

const CORE_CONFIG = join(__dirname, '../../packages/core/src/config');

/** Router products dbee drives or may drive; none belongs in core's configuration. */
const PRODUCTS = ['pgbouncer', 'pgpool', 'odyssey', 'pgcat', 'haproxy', 'supavisor'];

function yaml(router: string): string {
  return `version: 1
defaultEnvironment: blue
environments:
  blue:
    engine: postgres
    connection: { url: "postgres://postgres@127.0.0.1:5432/app" }
    blueGreen:
      green: green
      router:
${router}
  green:
    engine: postgres
    connection: { url: "postgres://postgres@127.0.0.1:5432/app_green" }
`;
}

const opened: { remove(): void }[] = [];
afterAll(() => {
  for (const w of opened.splice(0)) w.remove();
});

/** Make the router of blue's `blueGreen:` as a phase does; resolves with the error it is refused with, if any. */
function makeRouter(router: string): { description?: string; error?: DbeeError } {
  const w = tempWorkspace({ 'dbee.yaml': yaml(router) });
  opened.push(w);
  const ctx = context(w.root);
  const workspace = Workspace.load(w.root);
  const env = { PGBOUNCER_PASSWORD: 'secret' };
  const blue = workspace.environment('blue', env);
  const green = workspace.environment('green', env);
  const engine = engineByName('postgres');
  const role = requireRole(engine, 'blueGreen', 'test');
  try {
    return { description: blueGreenConfig(ctx, blue).router({ engine, role, blue, green }).description };
  } catch (e) {
    if (e instanceof DbeeError) return { error: e };
    throw e;
  }
}

describe('blue/green routers: declared by the engine, checked through it (#92)', () => {
  it("core's configuration names no router product", () => {
    const products = [
      ...PRODUCTS,
      ...Object.keys(requireRole(engineByName('postgres'), 'blueGreen', 'test').routers ?? {}),
    ];
    const found: string[] = [];
    for (const file of readdirSync(CORE_CONFIG).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')))
      readFileSync(join(CORE_CONFIG, file), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          for (const p of products) if (line.toLowerCase().includes(p)) found.push(`${file}:${i + 1}: ${p}`);
        });
    expect(found).toEqual([]);
  });

  it('dbee.yaml keeps its keys: a PgBouncer router is made from blueGreen.router.pgbouncer', () => {
    const made = makeRouter(
      '        pgbouncer: { admin: "postgres://pgbouncer:${PGBOUNCER_PASSWORD}@127.0.0.1:6432/pgbouncer", config: /tmp/p.ini, database: app, timeout: 2s }',
    );
    expect(made.error?.message).toBeUndefined();
    expect(made.description).toMatch(/127\.0\.0\.1:6432/);
    expect(made.description).not.toContain('secret');
  });

  it("a mistake in the engine's router settings is refused at its file and line", () => {
    const { error } = makeRouter(
      '        pgbouncer:\n          admin: "postgres://pgbouncer@127.0.0.1:6432/pgbouncer"\n          config: /tmp/p.ini\n          database: app\n          timout: 2s',
    );
    expect(error?.code).toBe('CONFIG_INVALID');
    expect(error?.message).toMatch(/blueGreen\.router\.pgbouncer/);
    expect(error?.location?.file).toMatch(/dbee\.yaml$/);
    expect(error?.message).toMatch(/timout/);
    // The line of the unknown key (line 14 of the file), where the YAML reader pointed when core's schema had it.
    expect(error?.location?.line).toBe(14);
  });

  it('a router the engine does not drive is refused, naming the ones it does', () => {
    const { error } = makeRouter('        pgpool: { admin: x }');
    expect(error?.code).toBe('CONFIG_INVALID');
    expect(error?.message).toMatch(/drives no router named pgpool/);
    expect(error?.hint).toMatch(/pgbouncer/);
    expect(error?.location?.line).toBe(10);
  });
});
