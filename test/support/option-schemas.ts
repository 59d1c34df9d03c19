import * as options from '@dbee/core/options';
import type { optionSchemas as Production } from '../../packages/cli/src/option-schemas';

/** Vitest's stand-in for packages/cli/src/option-schemas.ts (aliased in vitest.config.ts): the sources' schemas. */
export const optionSchemas: typeof Production = () => options;
