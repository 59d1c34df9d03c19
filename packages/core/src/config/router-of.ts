import type { z } from 'zod';
import type { blueGreenRouter, commandsRouter } from './schema';

/**
 * The router of `blueGreen.router`: the user's commands, or the name and settings of a router the engine drives. In a
 * module of its own: resolving an environment reads it, and must not load zod (./schema) for a direct deployment.
 */
export function routerOf(
  router: z.infer<typeof blueGreenRouter>,
): { commands: z.infer<typeof commandsRouter>['commands'] } | { engine: string; settings: Record<string, unknown> } {
  if ('commands' in router && Object.keys(router).length === 1)
    return { commands: (router as z.infer<typeof commandsRouter>).commands };
  const [engine, settings] = Object.entries(router as Record<string, Record<string, unknown>>)[0]!;
  return { engine, settings };
}
