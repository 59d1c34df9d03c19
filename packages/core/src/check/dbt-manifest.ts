import { readFileSync } from 'node:fs';
import { DbeeError } from '../errors';

/**
 * The part of a dbt manifest (`target/manifest.json`) the dbt check reads, as dbt documents it for schema versions v7
 * to v12 (dbt Core 1.3 to 1.11) and v20 (dbt Fusion, the same fields as v12): docs.getdbt.com/reference/artifacts/
 * manifest-json, schemas.getdbt.com/dbt/manifest/v12.json. Fields the check does not use are not kept.
 */
export interface DbtManifest {
  /** The file, as given. */
  path: string;
  /** The manifest schema's major version, e.g. 12. */
  version: number;
  /** `metadata.adapter_type`, e.g. `postgres`, `teradata`; null when absent. */
  adapter: string | null;
  projectName: string | null;
  /** Nodes (models, snapshots, tests, seeds, analyses), sources and exposures by unique id. */
  nodes: Map<string, DbtNode>;
  sources: Map<string, DbtSource>;
  exposures: Map<string, DbtExposure>;
  /** `child_map`: unique id → the unique ids that depend on it directly. */
  children: Map<string, string[]>;
}

export type DbtResourceType = 'model' | 'snapshot' | 'test' | 'seed' | 'analysis' | 'operation' | 'sql_operation';

/** A relation as the manifest names it: the database, schema and identifier (alias), and `relation_name` if any. */
export interface DbtRelation {
  database: string | null;
  schema: string | null;
  identifier: string;
  /** Quoted and fully qualified as the adapter renders it, e.g. `"analytics"."sales"."orders"`; null when absent. */
  relationName: string | null;
}

export interface DbtNode {
  uniqueId: string;
  resourceType: DbtResourceType | string;
  name: string;
  /** The file the node comes from, relative to the dbt project, e.g. `models/marts/fct_revenue.sql`. */
  file: string;
  relation: DbtRelation;
  /** SQL after Jinja, present only for nodes dbt compiled (`dbt compile`, `run`, `build`); null otherwise. */
  compiledCode: string | null;
  rawCode: string | null;
  /** `sql` or `python`. */
  language: string;
  /** `depends_on.nodes`: the models, seeds, snapshots and sources it reads. */
  dependsOn: string[];
  /** `column_name` of a generic test on one column; null otherwise. */
  testColumn: string | null;
  enabled: boolean;
}

export interface DbtSource {
  uniqueId: string;
  sourceName: string;
  name: string;
  relation: DbtRelation;
  /** The YAML file that declares it, relative to the dbt project. */
  file: string;
  /** Declared columns, in the order of the YAML: name and `data_type` (null when not declared). */
  columns: { name: string; dataType: string | null }[];
}

export interface DbtExposure {
  uniqueId: string;
  name: string;
  file: string;
  dependsOn: string[];
}

/** Manifest schema versions the check reads. */
export const DBT_MANIFEST_VERSIONS = [7, 8, 9, 10, 11, 12, 20] as const;

/** Reads and checks a manifest file; every problem is a `DbeeError` `DBT_MANIFEST` naming the file (exit 1). */
export function readDbtManifest(path: string, shownAs = path): DbtManifest {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DbeeError(`cannot read the dbt manifest ${shownAs}: ${(e as NodeJS.ErrnoException).code ?? e}`, {
      code: 'DBT_MANIFEST',
      location: { file: shownAs },
      hint: 'run `dbt parse` (or `dbt compile`, for the column level) in the dbt project first; it writes target/manifest.json',
      cause: e,
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new DbeeError(`the dbt manifest ${shownAs} is not JSON: ${(e as Error).message}`, {
      code: 'DBT_MANIFEST',
      location: { file: shownAs },
      hint: 'give the target/manifest.json that dbt wrote',
    });
  }
  return parseDbtManifest(data, shownAs);
}

/** A manifest already parsed from JSON (see `readDbtManifest`). */
export function parseDbtManifest(data: unknown, path: string): DbtManifest {
  const fail = (message: string, hint: string) =>
    new DbeeError(`${path}: ${message}`, { code: 'DBT_MANIFEST', location: { file: path }, hint });
  if (!isObject(data) || !isObject(data.metadata))
    throw fail('this is not a dbt manifest (no "metadata")', 'give the target/manifest.json that dbt wrote');
  const url = data.metadata.dbt_schema_version;
  const match = typeof url === 'string' ? /\/manifest\/v(\d+)\.json$/.exec(url) : null;
  if (!match)
    throw fail(
      `this is not a dbt manifest ("metadata.dbt_schema_version" is ${JSON.stringify(url ?? null)})`,
      'give the target/manifest.json that dbt wrote',
    );
  const version = Number(match[1]);
  if (!(DBT_MANIFEST_VERSIONS as readonly number[]).includes(version))
    throw fail(
      `dbt manifest schema v${version} is not one dbee reads (it reads v7 to v12 and v20: dbt Core 1.3 to 1.11, dbt Fusion)`,
      version > 12
        ? 'write the manifest with a dbt version dbee reads, or upgrade dbee'
        : 'write the manifest with dbt Core 1.3 or later',
    );
  const problems: string[] = [];
  const record = (v: unknown, where: string): Record<string, unknown> => {
    if (v === undefined || v === null) return {};
    if (!isObject(v)) {
      problems.push(`"${where}" is not an object`);
      return {};
    }
    return v;
  };
  const nodes = new Map<string, DbtNode>();
  for (const [id, n] of Object.entries(record(data.nodes, 'nodes'))) {
    if (!isObject(n)) {
      problems.push(`nodes["${id}"] is not an object`);
      continue;
    }
    nodes.set(id, {
      uniqueId: id,
      resourceType: str(n.resource_type) ?? id.split('.')[0]!,
      name: str(n.name) ?? id,
      file: str(n.original_file_path) ?? str(n.path) ?? id,
      relation: relationOf(n, str(n.alias) ?? str(n.name) ?? id),
      compiledCode: str(n.compiled_code) ?? str(n.compiled_sql) ?? null,
      rawCode: str(n.raw_code) ?? str(n.raw_sql) ?? null,
      language: str(n.language) ?? 'sql',
      dependsOn: strings(isObject(n.depends_on) ? n.depends_on.nodes : []),
      testColumn: str(n.column_name) ?? null,
      enabled: !(isObject(n.config) && n.config.enabled === false),
    });
  }
  const sources = new Map<string, DbtSource>();
  for (const [id, s] of Object.entries(record(data.sources, 'sources'))) {
    if (!isObject(s)) {
      problems.push(`sources["${id}"] is not an object`);
      continue;
    }
    const name = str(s.name) ?? id.split('.').at(-1)!;
    sources.set(id, {
      uniqueId: id,
      sourceName: str(s.source_name) ?? '',
      name,
      relation: relationOf(s, str(s.identifier) ?? name),
      file: str(s.original_file_path) ?? str(s.path) ?? id,
      columns: Object.entries(record(s.columns, `sources["${id}"].columns`)).map(([key, c]) => ({
        name: (isObject(c) && str(c.name)) || key,
        dataType: (isObject(c) && str(c.data_type)) || null,
      })),
    });
  }
  const exposures = new Map<string, DbtExposure>();
  for (const [id, e] of Object.entries(record(data.exposures, 'exposures'))) {
    if (!isObject(e)) continue;
    exposures.set(id, {
      uniqueId: id,
      name: str(e.name) ?? id,
      file: str(e.original_file_path) ?? id,
      dependsOn: strings(isObject(e.depends_on) ? e.depends_on.nodes : []),
    });
  }
  const children = new Map<string, string[]>();
  for (const [id, list] of Object.entries(record(data.child_map, 'child_map'))) children.set(id, strings(list));
  if (problems.length)
    throw fail(`the manifest is not as dbt writes it: ${problems.join('; ')}`, 'run dbt parse again');
  return {
    path,
    version,
    adapter: str(data.metadata.adapter_type) ?? null,
    projectName: str(data.metadata.project_name) ?? null,
    nodes,
    sources,
    exposures,
    children,
  };
}

function relationOf(n: Record<string, unknown>, identifier: string): DbtRelation {
  return {
    database: str(n.database) ?? null,
    schema: str(n.schema) ?? null,
    identifier,
    relationName: str(n.relation_name) ?? null,
  };
}

/**
 * A `relation_name` split into its parts: a quoted part keeps its case, an unquoted one is folded to lower case when
 * `fold` (PostgreSQL folds unquoted names; Teradata compares names without case, so it keeps them), e.g.
 * `"analytics"."Sales".orders` → `['analytics', 'Sales', 'orders']`. Null when it is not a dotted name.
 */
export function splitRelationName(text: string, fold: boolean): string[] | null {
  const parts: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"' || text[i] === '`') {
      const q = text[i]!;
      let part = '';
      i++;
      while (i < text.length) {
        if (text[i] === q && text[i + 1] === q) {
          part += q;
          i += 2;
        } else if (text[i] === q) break;
        else part += text[i++];
      }
      if (text[i] !== q) return null;
      parts.push(part);
      i++;
    } else {
      const m = /^[^."`\s]+/.exec(text.slice(i));
      if (!m) return null;
      parts.push(fold ? m[0].toLowerCase() : m[0]);
      i += m[0].length;
    }
    if (i < text.length) {
      if (text[i] !== '.') return null;
      i++;
    }
  }
  return parts.length ? parts : null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
