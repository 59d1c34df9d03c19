import type { KeyNameRules } from '../engine/engine';
import { DbeeAggregateError, DbeeError } from '../errors';
import { DEFAULT_KEY_RULES, keyName } from '../sources/key-name';
import { formatKey, type ObjectKey } from '../model/object-key';
import type { Plan, PlanStep } from '../plan/plan';
import { expandText, placeholderNames } from '../sources/placeholders';
import { type ReleaseInfo, valuesHash } from './release';

/**
 * A package is built once and deployed to every environment. Its statements keep their `{{placeholders}}`; so do
 * the names of its step keys that the sources build from them (`table:{{env}}_EDW.CUSTOMERS`), each written as the
 * source writes the identifier, and each target makes its own keys from them with its variables and the engine's
 * identifier rules (`EngineCapabilities.keyNames`). The reverse statements the planner wrote from the keys are
 * templates too. A name that comes from a placeholder in a way no identifier of the sources shows (a variable holding
 * `DB.TABLE`) stays as planned, and the package records it with a hash of the values: a target with other values is
 * refused (`boundKeyProblems`).
 */

/** One identifier of SQL or of a search path entry: a quoted name, or a run of name characters and placeholders. */
const IDENTIFIER = /"(?:[^"]|"")*"|(?:[A-Za-z0-9_$#]|\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\})+/g;

/** What `templateKeys` needs of the environment the package is built with. */
export interface KeyTemplating {
  environment: string;
  /** Each project's variables (names and values) on that environment. */
  variables: ReadonlyMap<string, Readonly<Record<string, string>>>;
  rules?: KeyNameRules;
}

/**
 * The plan and release of a full-state package with its step keys as templates (see above), and the keys that could
 * not be, recorded per project in `release.variables[project].boundKeys`. An incremental or gap package is returned
 * as is: its SQL is rendered with one environment's values, which it is bound to already (`renderedWith`); so is an
 * expand-contract one, whose desired model holds that environment's names.
 */
export function templateKeys(
  plan: Plan,
  release: ReleaseInfo,
  how: KeyTemplating,
): { plan: Plan; release: ReleaseInfo } {
  if (release.base || release.expand || plan.baseFingerprint || plan.objectStates) return { plan, release };
  const bound = new Map<string, string[]>();
  const steps = plan.steps.map((step) => {
    const made = templateStep(step, plan.searchPaths?.[step.project] ?? [], how);
    if (made) return made;
    bound.set(step.project, [...(bound.get(step.project) ?? []), step.key]);
    return step;
  });
  const variables = { ...release.variables };
  for (const [project, keys] of bound) {
    const entry = variables[project] ?? { names: [] };
    const values = how.variables.get(project) ?? {};
    variables[project] = {
      ...entry,
      boundKeys: { environment: how.environment, valuesHash: valuesHash(entry.names, values), keys },
    };
  }
  return { plan: { ...plan, steps }, release: { ...release, variables } };
}

/** The step with its key's names as templates (itself when none is made from a placeholder); null when one cannot be. */
function templateStep(step: PlanStep, searchPath: readonly string[], how: KeyTemplating): PlanStep | null {
  if (step.action === 'migrate' || step.objectKey.kind === 'migration') return step;
  const texts = [...step.statements, ...searchPath];
  const names = placeholderNames(texts);
  if (!names.length) return step;
  const variables = how.variables.get(step.project) ?? {};
  const rules = how.rules ?? DEFAULT_KEY_RULES;
  const values = names.map((n) => variables[n]?.toLowerCase()).filter((v): v is string => Boolean(v));
  const tokens = texts.flatMap((t) => t.match(IDENTIFIER) ?? []);
  const templates = [...new Set(tokens.filter((t) => t.includes('{{')))];
  const literals = new Set(tokens.filter((t) => !t.includes('{{')).map((t) => keyName(t, rules)));
  const made = new Map<string, string>(); // key name → template
  const nameOf = (name: string): string | null => {
    const lower = name.toLowerCase();
    if (!values.some((v) => lower.includes(v) || v.includes(lower))) return name;
    const matching = templates.filter((t) => expandsTo(t, variables, rules) === name);
    if (!matching.length) return literals.has(name) ? name : null;
    // Two templates that give this name here but could differ elsewhere (`{{a}}{{b}}`, `{{c}}`), or a template and the
    // name written as is (`{{env}}.t` beside `dev.t`): which one the key comes from cannot be told.
    if (literals.has(name) || !matching.every((t) => sameTemplate(t, matching[0]!, names, rules))) return null;
    made.set(name, matching[0]!);
    return matching[0]!;
  };
  const key: ObjectKey = { ...step.objectKey };
  const schema = key.schema ? nameOf(key.schema) : '';
  const name = nameOf(key.name);
  const parent = key.parent?.split('.').map(nameOf);
  // A routine's argument types may be the project's own (`dev_sales.money_t`).
  const args = key.args?.map((a) => a.split('.').map(nameOf));
  if (schema === null || name === null || parent?.includes(null) || args?.some((a) => a.includes(null))) return null;
  if (!made.size) return step;
  key.schema = schema;
  key.name = name;
  if (parent) key.parent = parent.join('.');
  if (args) key.args = args.map((a) => a.join('.'));
  const reverse = step.reverse?.map((s) => (s.includes('{{') ? s : reverseTemplate(s, made, rules)));
  return { ...step, key: formatKey(key), objectKey: key, reverse: reverse ?? null };
}

/** A reverse statement the planner wrote from the key, with the names made from placeholders written as templates. */
function reverseTemplate(statement: string, made: ReadonlyMap<string, string>, rules: KeyNameRules): string {
  return statement.replace(IDENTIFIER, (token) => made.get(keyName(token, rules)) ?? token);
}

function expandsTo(template: string, variables: Readonly<Record<string, string>>, rules: KeyNameRules): string | null {
  // The same few templates (`{{env}}_EDW`) recur in every step: each is expanded once per environment's variables.
  let cache = expanded.get(variables);
  if (!cache) expanded.set(variables, (cache = new Map()));
  const id = `${rules.unquoted} ${rules.quoted} ${template}`;
  let name = cache.get(id);
  if (name === undefined) {
    name = defined(template, variables) ? keyName(expandText(template, variables, 'a key'), rules) : null;
    cache.set(id, name);
  }
  return name;
}

const expanded = new WeakMap<Readonly<Record<string, string>>, Map<string, string | null>>();

/** Whether `variables` defines every placeholder of `text`. */
function defined(text: string, variables: Readonly<Record<string, string>>): boolean {
  return placeholderNames([text]).every((n) => variables[n] !== undefined);
}

/** Whether two templates make the same name whatever the values (checked with values no source would use). */
function sameTemplate(a: string, b: string, names: readonly string[], rules: KeyNameRules): boolean {
  if (a === b) return true;
  const probe = Object.fromEntries(names.map((n, i) => [n, `Dbee${i}Probe`]));
  return expandsTo(a, probe, rules) === expandsTo(b, probe, rules);
}

/**
 * The package's plan with the keys of `variables`' environment: each name written as a template expanded and made a
 * key name by the engine's rules, and the reverse statements of those steps expanded (the ledger records a reverse
 * as it will run). A name whose variable the environment lacks stays a template (the package's variable check refuses
 * that environment before anything runs).
 */
export function keysFor(
  plan: Plan,
  variables: ReadonlyMap<string, Readonly<Record<string, string>>>,
  rules: KeyNameRules = DEFAULT_KEY_RULES,
): Plan {
  if (!plan.steps.some((s) => s.key.includes('{{'))) return plan;
  const steps = plan.steps.map((step) => {
    if (!step.key.includes('{{')) return step;
    const values = variables.get(step.project) ?? {};
    const nameOf = (name: string) => (name.includes('{{') ? (expandsTo(name, values, rules) ?? name) : name);
    const key: ObjectKey = {
      ...step.objectKey,
      schema: nameOf(step.objectKey.schema),
      name: nameOf(step.objectKey.name),
    };
    if (step.objectKey.parent) key.parent = step.objectKey.parent.split('.').map(nameOf).join('.');
    if (step.objectKey.args) key.args = step.objectKey.args.map((a) => a.split('.').map(nameOf).join('.'));
    const reverse = step.reverse?.map((sql) => (defined(sql, values) ? expandText(sql, values, step.key) : sql));
    return { ...step, key: formatKey(key), objectKey: key, reverse: reverse ?? null };
  });
  return { ...plan, steps };
}

/**
 * A package whose keys could not all be kept as templates, refused (one error per project, exit 1) on an environment
 * whose values differ from those the package was built with: it would record the other environment's names.
 */
export function boundKeyProblems(
  release: ReleaseInfo | null,
  environment: string,
  variables: ReadonlyMap<string, Readonly<Record<string, string>>>,
): DbeeError[] {
  return Object.entries(release?.variables ?? {}).flatMap(([project, v]) => {
    const bound = v.boundKeys;
    if (!bound || valuesHash(v.names, variables.get(project) ?? {}) === bound.valuesHash) return [];
    const shown =
      bound.keys.slice(0, 5).join(', ') + (bound.keys.length > 5 ? `, and ${bound.keys.length - 5} more` : '');
    return [
      new DbeeError(
        `${project}: the package names ${shown} as ${bound.environment} does: ${bound.keys.length === 1 ? 'this name is' : 'these names are'} made from ${v.names.map((n) => `{{${n}}}`).join(', ')} in a way dbee cannot map back to the placeholders, and ${environment} has other values; nothing was applied`,
        {
          code: 'PACKAGE_VARIABLES',
          hint: `build the package with --env ${environment}, or write each name made from a placeholder as one identifier that holds it (e.g. {{env}}_EDW.orders, not a variable holding DB.TABLE)`,
          details: { project, keys: bound.keys, builtOn: bound.environment },
        },
      ),
    ];
  });
}

/**
 * The plan of `pkg` for `environment` (whose variables of each project are `variables`): its keys made with them, or
 * the package refused when it names objects as another environment does (`boundKeyProblems`). What an export of a
 * package (BTEQ) runs; `dbee deploy --package` reports these problems with its other checks (`packagePlan`).
 */
export function packagePlanFor(
  pkg: { plan: Plan; release: ReleaseInfo | null },
  environment: string,
  variables: ReadonlyMap<string, Readonly<Record<string, string>>>,
  rules?: KeyNameRules,
): Plan {
  const problems = boundKeyProblems(pkg.release, environment, variables);
  if (problems.length === 1) throw problems[0]!;
  if (problems.length)
    throw new DbeeAggregateError(`the package cannot be deployed to ${environment}; nothing was applied`, problems);
  return keysFor(pkg.plan, variables, rules);
}

/** The step of a package's plan that recorded `key` on an environment whose variables of `project` are `variables`. */
export function packagedStep(
  plan: Plan,
  key: string,
  project: string,
  variables: Readonly<Record<string, string>>,
  rules?: KeyNameRules,
): PlanStep | undefined {
  const exact = plan.steps.find((p) => p.key === key);
  if (exact || !plan.steps.some((s) => s.key.includes('{{'))) return exact;
  const mine = plan.steps.filter((s) => s.project === project);
  const named = keysFor({ ...plan, steps: mine }, new Map([[project, variables]]), rules).steps;
  const i = named.findIndex((s) => s.key === key);
  return i < 0 ? undefined : mine[i];
}
