import { DbeeError, type Engine } from '@dbee/core';
import { createPostgresEngine } from '@dbee/postgres';
import { createTeradataEngine } from '@dbee/teradata';

/**
 * Engines by the name used in `engine:` of dbee.yaml, created on first use. The Teradata package loads its
 * driver only when it connects, so PostgreSQL users never need one.
 */
const FACTORIES: Record<string, () => Engine> = {
  postgres: createPostgresEngine,
  teradata: createTeradataEngine,
};

const cache = new Map<string, Engine>();

export function engineByName(name: string): Engine {
  let engine = cache.get(name);
  if (!engine) {
    const factory = FACTORIES[name];
    if (!factory) throw new DbeeError(`unknown engine "${name}"`, { code: 'ENGINE_UNKNOWN', hint: `supported: ${Object.keys(FACTORIES).join(', ')}` });
    engine = factory();
    cache.set(name, engine);
  }
  return engine;
}

/**
 * Test seam: make `engine: <name>` use engines from `factory` (a new name, or in place of a built-in one), e.g. the
 * Teradata engine over a fake driver: `registerEngine('teradata', () => createTeradataEngine({ loadDriver: () =>
 * fakeDriver(session, { sessionPerConnect: true }) }))`. The engine is created on next use. Returns a function that
 * puts back the previous factory (and forgets the engine made from this one); call it when the test ends. Not a
 * plugin API: the CLI has no way to load engines from elsewhere.
 */
export function registerEngine(name: string, factory: () => Engine): () => void {
  const had = Object.prototype.hasOwnProperty.call(FACTORIES, name);
  const previous = FACTORIES[name];
  FACTORIES[name] = factory;
  cache.delete(name);
  let undone = false;
  return () => {
    if (undone) return;
    undone = true;
    if (had) FACTORIES[name] = previous!;
    else delete FACTORIES[name];
    cache.delete(name);
  };
}
