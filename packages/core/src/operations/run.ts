// What runs one command (the dbee CLI, the Nx executors), without the rest of core: the workspace, the operations
// (each loaded when its command runs, operations/index.ts) and the reporter. `@dbee/core` (index.ts) loads every
// module of core; a process that runs a command imports this instead, and loads only what its command uses.
export { loadOperation, runOperation } from './index';
export type { Operations } from './index';
export type { Strategy, StrategyTable } from './strategies/strategy';
export { Workspace } from '../config/workspace';
export { ENGINE_NAMES, type EngineName } from '../config/units';
export { makeReporter } from '../context/operation-context';
export type { OperationContext } from '../context/operation-context';
export { SessionPool } from '../engine/session-pool';
export type { Engine } from '../engine/engine';
