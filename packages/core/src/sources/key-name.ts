import type { KeyNameRules } from '../model/engine-facts';
import { expandPlaceholders } from './placeholders';

/** PostgreSQL's rules, the default of `EngineCapabilities.keyNames`. */
export const DEFAULT_KEY_RULES: KeyNameRules = { unquoted: 'lower', quoted: 'exact' };

/**
 * The name an identifier written as `written` (quoted or not, placeholders expanded) makes under `rules`, as the
 * engine reads it in SQL: the sources' identifiers, and the schema names of a `db.yaml` (`schemas`, `searchPath`),
 * which are read the same way so that `{{env}}_sales` with `env: DEV` is the schema `CREATE SCHEMA {{env}}_sales`
 * makes (`dev_sales` on PostgreSQL); a name written in double quotes keeps its case.
 */
export function keyName(written: string, rules: KeyNameRules = DEFAULT_KEY_RULES): string {
  const quoted = written.length > 1 && written.startsWith('"') && written.endsWith('"');
  const name = quoted ? written.slice(1, -1).replace(/""/g, '"') : written;
  const rule = quoted ? rules.quoted : rules.unquoted;
  return rule === 'upper' ? name.toUpperCase() : rule === 'lower' ? name.toLowerCase() : name;
}

/**
 * A search path as a plan keeps it (`Plan.searchPaths`: templates) for one project's variables: each entry expanded
 * and read as an identifier (`keyName`), as `graphProject` reads a db.yaml's names.
 */
export function expandedSearchPath(
  templates: readonly string[] | undefined,
  variables: Readonly<Record<string, string>>,
  rules: KeyNameRules | undefined,
  where: string,
): string[] {
  return (templates ?? []).map((s) => keyName(expandPlaceholders(s, variables, where).expanded, rules));
}
