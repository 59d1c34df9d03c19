import type { DbtCheckSettings } from '../config/schema';
import type { EngineFacts } from '../engine/engine';
import { parseType } from '../schema/hazards';
import type { SchemaModel } from '../schema/model';
import type { RelationIndex } from './dbt-check';
import { splitRelationName, type DbtManifest } from './dbt-manifest';

/** The drift rules between the sources a dbt manifest declares and dbee's schema (`check.dbt.drift`). */
export type DbtDriftRule = 'missing-column' | 'type-mismatch' | 'missing-relation';

export interface DbtDriftFinding {
  rule: DbtDriftRule;
  severity: 'error' | 'warn';
  /** The source's YAML file, the dbee object's source file, the side and what differs, in one sentence. */
  message: string;
  /** The source (`source.<pkg>.<source>.<table>`). */
  source: string;
  /** The dbt project's YAML file that declares the source. */
  yamlFile: string;
  /** The dbee source file of the object (`file:line`), when it has one. */
  objectFile: string | null;
}

/** One side the declared columns are compared with: the desired schema (after the release) or the live environment. */
export interface DriftSide {
  /** E.g. `the desired schema`, `environment prod`. */
  label: string;
  model: SchemaModel;
}

/**
 * Checks each source the manifest declares against each side: a declared column the relation lacks
 * (`missing-column`), a declared `data_type` other than the column's (`type-mismatch`, compared as the engine spells
 * types: `int4` is `integer`), a source in a project's schema whose relation no project defines
 * (`missing-relation`). Sources outside the projects' schemas are another tool's, never reported.
 */
export function dbtDrift(input: {
  manifest: DbtManifest;
  index: RelationIndex;
  /** The projects' schemas (lower case compared). */
  schemas: readonly string[];
  /** `schema.name` → where the object is defined (`file:line`). */
  objectFiles: ReadonlyMap<string, string>;
  sides: readonly DriftSide[];
  facts: EngineFacts | null;
  settings: DbtCheckSettings['drift'];
}): DbtDriftFinding[] {
  const severity = (rule: DbtDriftRule) => input.settings?.[rule] ?? 'warn';
  const owned = new Set(input.schemas.map((s) => s.toLowerCase()));
  const out: DbtDriftFinding[] = [];
  const push = (rule: DbtDriftRule, f: Omit<DbtDriftFinding, 'rule' | 'severity'>) => {
    const s = severity(rule);
    if (s !== 'off') out.push({ rule, severity: s, ...f });
  };
  const sameType = (declared: string, actual: string) => {
    if (!input.facts) return declared.trim().toLowerCase() === actual.trim().toLowerCase();
    const a = parseType(declared.trim().toLowerCase(), input.facts.typeAliases);
    const b = parseType(actual.trim().toLowerCase(), input.facts.typeAliases);
    return JSON.stringify(a) === JSON.stringify(b);
  };
  for (const source of input.manifest.sources.values()) {
    const key = input.index.ofDbt(source.relation);
    const named = `source ${source.sourceName}.${source.name} (${source.file})`;
    if (!key) {
      const parts = source.relation.relationName ? splitRelationName(source.relation.relationName, false) : null;
      const schema = parts && parts.length >= 2 ? parts.at(-2)! : source.relation.schema;
      if (schema && owned.has(schema.toLowerCase()))
        push('missing-relation', {
          message: `${named} points at ${schema}.${source.relation.identifier}, which no dbee project defines`,
          source: source.uniqueId,
          yamlFile: source.file,
          objectFile: null,
        });
      continue;
    }
    const objectFile = input.objectFiles.get(key) ?? null;
    const defined = objectFile ? ` (defined in ${objectFile})` : '';
    // One finding per declared column and what differs, naming every side where it differs.
    const found = new Map<string, { rule: DbtDriftRule; text: (sides: string) => string; sides: string[] }>();
    const note = (id: string, rule: DbtDriftRule, text: (sides: string) => string, side: string) => {
      const entry = found.get(id) ?? { rule, text, sides: [] };
      entry.sides.push(side);
      found.set(id, entry);
    };
    for (const side of input.sides) {
      const rel = [...side.model.tables, ...side.model.views].find((r) => `${r.key.schema}.${r.key.name}` === key);
      if (!rel) continue;
      for (const declared of source.columns) {
        const column =
          rel.columns.find((c) => c.name === declared.name) ??
          rel.columns.find((c) => c.name.toLowerCase() === declared.name.toLowerCase());
        if (!column)
          note(
            `missing ${declared.name}`,
            'missing-column',
            (sides) => `${named} declares column ${declared.name}, which ${key}${defined} lacks in ${sides}`,
            side.label,
          );
        else if (declared.dataType && !sameType(declared.dataType, column.type))
          note(
            `type ${declared.name} ${column.type}`,
            'type-mismatch',
            (sides) =>
              `${named} declares ${declared.name} as ${declared.dataType}, but ${key}.${column.name}${defined} is ${column.type} in ${sides}`,
            side.label,
          );
      }
    }
    for (const f of found.values())
      push(f.rule, {
        message: f.text(f.sides.join(' and ')),
        source: source.uniqueId,
        yamlFile: source.file,
        objectFile,
      });
  }
  return out;
}
