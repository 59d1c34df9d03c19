import { DbeeError } from '@dbee/core';

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_$-]*)\s*\}\}/g;

/**
 * Expand `{{name}}` placeholders with the environment's variables (core does the same to sources before parsing;
 * plan steps keep them so one package serves several environments). An unknown name is an error, never "".
 */
export function expandPlaceholders(text: string, variables: Record<string, string>): string {
  return text.replace(PLACEHOLDER, (_whole, name: string) => {
    const v = variables[name];
    if (v === undefined) {
      throw new DbeeError(`unknown variable {{${name}}}`, {
        code: 'VARIABLE_UNKNOWN',
        hint: `define ${name} under variables in dbee.yaml or db.yaml (known: ${Object.keys(variables).sort().join(', ') || 'none'})`,
        details: { variable: name },
      });
    }
    return v;
  });
}
