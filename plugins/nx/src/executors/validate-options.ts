/**
 * Checks executor options against the executor's schema.json. Nx validates the options of a forked task itself;
 * this also covers batch runs and programmatic calls (`runExecutor`), and gives one message listing every problem.
 * It understands the subset of JSON Schema that dbee's schema.json files use.
 */

interface PropertySchema {
  type?: string;
  enum?: readonly unknown[];
  items?: { type?: string; enum?: readonly unknown[] };
  minimum?: number;
}

/** The part of a schema.json that validation reads. */
export interface ExecutorSchema {
  title?: string;
  properties: Record<string, PropertySchema>;
  required?: readonly string[];
  additionalProperties?: boolean;
}

/** Every problem with `options`, one line each (`ifExists: expected one of raise, rename, drop, got "nuke"`). */
export function validateOptions(schema: ExecutorSchema, options: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const key of schema.required ?? []) {
    if (options[key] === undefined) problems.push(`${key}: required`);
  }
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const property = schema.properties[key];
    if (!property) {
      if (schema.additionalProperties === false) {
        problems.push(`${key}: unknown option (known: ${Object.keys(schema.properties).join(', ')})`);
      }
      continue;
    }
    problems.push(...checkValue(key, property, value));
  }
  return problems;
}

function checkValue(key: string, property: PropertySchema, value: unknown): string[] {
  if (property.type === 'array') {
    if (!Array.isArray(value)) return [`${key}: expected a list, got ${describe(value)}`];
    return value.flatMap((item, i) => checkValue(`${key}[${i}]`, property.items ?? {}, item));
  }
  if (property.type && !hasType(property.type, value)) return [`${key}: expected ${article(property.type)}, got ${describe(value)}`];
  if (property.enum && !property.enum.includes(value)) {
    return [`${key}: expected one of ${property.enum.join(', ')}, got ${describe(value)}`];
  }
  if (property.minimum !== undefined && typeof value === 'number' && value < property.minimum) {
    return [`${key}: expected at least ${property.minimum}, got ${value}`];
  }
  return [];
}

function hasType(type: string, value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return Number.isInteger(value);
    default:
      return true;
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return JSON.stringify(value);
}
