/**
 * The values of dbee.yaml's `ifExists`, `allowHazards` and `deploy.strategy` (and of the options that set them),
 * written out in a module that imports nothing: `--help` and a command that only reads them (`check`, which allows
 * every hazard) load neither the configuration schema nor the option builders (and zod with both). options/common.ts
 * makes the compiler refuse any difference from the schema's (config/schema.ts).
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
