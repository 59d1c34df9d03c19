// Public API of PostgreSQL rendering: a flat list of explicit exports.
export { renderChange, columnDefinition } from './render-change';
export type { RenderOptions, RenderedChange } from './render-change';
export { renderPlanSteps } from './plan-steps';
export type { RenderedStep, PlanStepOptions } from './plan-steps';
export { ident, qualified, literal } from './quote';
