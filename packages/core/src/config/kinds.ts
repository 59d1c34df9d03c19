/**
 * The values of dbee.yaml's `ifExists`, `allowHazards` and `deploy.strategy` (config/schema.ts's enums) and of the
 * options that set them, in a module that imports nothing: `--help` and a command that only reads them (`check`, which
 * allows every hazard) load neither the configuration schema nor the option builders (and zod with both).
 */
export const CONFLICT_STRATEGIES = ['raise', 'rename', 'drop', 'skip', 'ignore'] as const;
export const HAZARD_KINDS = [
  'data-loss',
  'table-rewrite',
  'long-lock',
  'backward-incompatible',
  'index-build',
  'rls-bypass',
] as const;
/** The values of `deploy.strategy` and `--strategy`. */
export const STRATEGIES = ['direct', 'expand-contract', 'blue-green'] as const;
