import { DbeeError, type ErrorLocation } from '../errors';

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Replace `${NAME}` with the value of the environment variable NAME. An unset variable is an error naming it
 * and where it was used; it never becomes an empty string. `$${NAME}` escapes to a literal `${NAME}`.
 */
export function interpolateEnv(
  value: string,
  env: NodeJS.ProcessEnv,
  where: () => ErrorLocation & { key: string },
): string {
  return value.replace(/(\$?)\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, escape: string, name: string) => {
    if (escape) return whole.slice(1);
    const v = env[name];
    if (v === undefined) {
      const loc = where();
      throw new DbeeError(`environment variable ${name} is not set (used by ${loc.key})`, {
        code: 'ENV_VAR_UNSET',
        location: loc,
        hint: `export ${name}=... before running dbee, or change ${loc.key} in ${loc.file}`,
        details: { variable: name, key: loc.key },
      });
    }
    return v;
  });
}

/** Names of the `${VAR}` references in a string. */
export function envRefs(value: string): string[] {
  return [...value.matchAll(ENV_REF)].map((m) => m[1]!);
}
