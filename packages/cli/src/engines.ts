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
