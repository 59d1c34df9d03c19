// Smoke checks: what `smoke-test` runs, and what `deploy` calls after applying (see README, "Smoke checks").
export { runSmokeChecks, smokeTimeoutMs, formatSmokeResult } from './run-smoke';
export type { SmokeRunOptions } from './run-smoke';
// The schema of a YAML smoke file is smoke-schema.ts's, loaded when a project has one (zod with it).
export { loadSmokeChecks } from './smoke-file';
export type { SmokeSources } from './smoke-file';
export { recordSmokeResults, recordSmokeChecks, recordedSmokeChecks } from './smoke-ledger';
export { DEFAULT_SMOKE_TIMEOUT_MS } from '../model/smoke-check';
export type { SmokeCheck, SmokeCheckBody, SmokeArg, SmokeResult, SmokeRun } from '../model/smoke-check';
export { smokeRegression, judgeDuration, MIN_BASELINE_RUNS } from './regression';
export type { SmokeRegression } from './regression';
export { viewsToCompile } from './stale-views';
export type { AppliedChange, DependencyNode } from './stale-views';
