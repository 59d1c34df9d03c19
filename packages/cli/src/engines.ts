import { DbeeError, type Engine } from '@dbee/core';

/**
 * Engines by the name used in `engine:` of dbee.yaml. Loaded on first use, so a PostgreSQL user never loads the
 * Teradata package (or its driver) and the other way round.
 */
const FACTORIES: Record<string, () => Engine> = {
  postgres: () => (require('@dbee/postgres') as typeof import('@dbee/postgres')).createPostgresEngine(),
  teradata: () => (require('@dbee/teradata') as { createTeradataEngine: () => Engine }).createTeradataEngine(),
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
