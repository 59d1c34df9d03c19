// The options of every dbee command, one zod schema each: see README.md in this folder. Imports zod only, so that
// the CLI can print `--help` and parse flags without loading the rest of core.
export { COMMAND_DEFINITIONS, COMMANDS, isCommandName } from './commands';
// Option errors are user errors; the CLI prints them before it loads the rest of core.
export { DbeeError, isDbeeError } from '../errors';
export type {
  CommandName,
  CommandOptions,
  CommandInput,
  BuildOptions,
  DiffOptions,
  DeployOptions,
  SmokeTestOptions,
  RollbackOptions,
  PlanOptions,
  StatusOptions,
  LogOptions,
  DisableOptions,
  EnableOptions,
  CleanupOptions,
  ExtractOptions,
  AdoptOptions,
  BaselineOptions,
  ImportOptions,
  AuditOptions,
  CloneOptions,
  PreviewOptions,
  GraphOptions,
  DocsOptions,
  CheckOptions,
  AdviseOptions,
  DbtSourcesOptions,
  CompleteOptions,
  AbortOptions,
  SwitchOptions,
  FallbackOptions,
  FinishOptions,
  UnlockOptions,
  ConfigOptions,
  DetagOptions,
  VersionOptions,
} from './commands';
export { defineCommand, optionEntries } from './command';
export type { CommandDefinition, OptionEntry } from './command';
export { checkCommandOptions, parseCommandOptions } from './parse';
export type { OptionStyle, OptionsCheck } from './parse';
export { executorSchema, executorSchemaText } from './json-schema';
export { optionRegistry, kebab } from './option';
export type { OptionInfo, JsonProperty, CliFlag } from './option';
