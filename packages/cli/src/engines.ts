import { DbeeError } from '@dbee/core/errors';
import { ENGINE_NAMES, type Engine, type EngineName } from '@dbee/core/run';
import { ENGINE_PACKAGES } from './engine-packages';

/** The engine of a built-in engine package; a missing package is a user error that names what to install. */
function requireEngine(name: EngineName): Engine {
  const spec = ENGINE_PACKAGES[name]!;
  let factory: () => Engine;
  try {
    factory = spec.load();
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e?.code === 'MODULE_NOT_FOUND' && String(e.message).includes(`'${spec.module}`)) {
      throw new DbeeError(`engine "${name}" needs the package ${spec.module}, which is not installed`, {
        code: 'ENGINE_NOT_INSTALLED',
        hint: `run \`${spec.install}\` in the workspace root`,
        details: { engine: name, install: spec.install },
        cause: error,
      });
    }
    throw error;
  }
  return factory();
}

/** Engines by the name used in `engine:` of dbee.yaml, created on first use; a test may put its own in place. */
const FACTORIES: Record<string, () => Engine> = Object.fromEntries(
  ENGINE_NAMES.map((name) => [name, () => requireEngine(name)]),
);

const cache = new Map<string, Engine>();

/** Let every engine made in this process let go of what it keeps for a next command (`Engine.release`). */
export async function releaseEngines(): Promise<void> {
  for (const engine of cache.values()) await engine.release?.().catch(() => {});
}

export function engineByName(name: string): Engine {
  let engine = cache.get(name);
  if (!engine) {
    const factory = FACTORIES[name];
    if (!factory)
      throw new DbeeError(`unknown engine "${name}"`, {
        code: 'ENGINE_UNKNOWN',
        hint: `supported: ${Object.keys(FACTORIES).join(', ')}`,
      });
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
  const had = Object.hasOwn(FACTORIES, name);
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
