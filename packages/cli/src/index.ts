// Public API of @dbee/cli: the command runner shared by the `dbee` binary and the Nx executors.
export { runDbeeCommand, reportError, COMMANDS } from './run-command';
export type { CommandName, CommandContext, CommandOptions } from './run-command';
export { parseCommandLine, commandHelp, usage, flagsOf, positionalsOf } from './options';
export type { CommandLine } from './options';
export { engineByName, registerEngine } from './engines';
export { main } from './main';
export { fingerprint } from './fingerprint';
