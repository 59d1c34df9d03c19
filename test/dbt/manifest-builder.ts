/**
 * A dbt manifest of schema v12 (docs.getdbt.com/reference/artifacts/manifest-json, schemas.getdbt.com/dbt/manifest/
 * v12.json) written from a short description of its models, for tests with many models: every model reads its SQL as
 * compiled code (or only raw code), names its sources in `depends_on.nodes`, and `child_map` is filled from them. The
 * hand-written fixtures in test/fixtures/dbt are the reference for the shape.
 */
export interface ModelSpec {
  name: string;
  /** The compiled SQL; null for a model dbt only parsed (raw code only). */
  compiled: string | null;
  /** Raw code; default the compiled SQL. */
  raw?: string;
  /** Source tables it reads (`shop.orders` → `source.analytics.shop.orders`). */
  sources?: string[];
  /** Models it refs. */
  refs?: string[];
}

export function buildManifest(
  models: ModelSpec[],
  sources: { source: string; table: string; schema: string; columns?: Record<string, string> }[],
  version = 12,
): object {
  const sourceId = (s: string) => `source.analytics.${s}`;
  const modelId = (m: string) => `model.analytics.${m}`;
  const nodes: Record<string, object> = {};
  const childMap: Record<string, string[]> = {};
  for (const s of sources) childMap[sourceId(`${s.source}.${s.table}`)] = [];
  for (const m of models) {
    const parents = [...(m.sources ?? []).map(sourceId), ...(m.refs ?? []).map(modelId)];
    for (const p of parents) (childMap[p] ??= []).push(modelId(m.name));
    childMap[modelId(m.name)] ??= [];
    nodes[modelId(m.name)] = {
      resource_type: 'model',
      package_name: 'analytics',
      name: m.name,
      alias: m.name,
      database: 'warehouse',
      schema: 'analytics',
      relation_name: `"warehouse"."analytics"."${m.name}"`,
      path: `${m.name}.sql`,
      original_file_path: `models/${m.name}.sql`,
      fqn: ['analytics', m.name],
      language: 'sql',
      raw_code: m.raw ?? m.compiled ?? '',
      ...(m.compiled !== null ? { compiled_code: m.compiled } : {}),
      depends_on: { macros: [], nodes: parents },
      refs: (m.refs ?? []).map((name) => ({ name, package: null, version: null })),
      sources: (m.sources ?? []).map((s) => s.split('.')),
      config: { enabled: true, materialized: 'view' },
      columns: {},
    };
  }
  return {
    metadata: {
      dbt_schema_version: `https://schemas.getdbt.com/dbt/manifest/v${version}.json`,
      dbt_version: '1.9.4',
      project_name: 'analytics',
      adapter_type: 'postgres',
    },
    nodes,
    sources: Object.fromEntries(
      sources.map((s) => [
        sourceId(`${s.source}.${s.table}`),
        {
          resource_type: 'source',
          package_name: 'analytics',
          source_name: s.source,
          name: s.table,
          identifier: s.table,
          database: 'warehouse',
          schema: s.schema,
          relation_name: `"warehouse"."${s.schema}"."${s.table}"`,
          original_file_path: 'models/sources.yml',
          columns: Object.fromEntries(
            Object.entries(s.columns ?? {}).map(([name, type]) => [name, { name, data_type: type, description: '' }]),
          ),
        },
      ]),
    ),
    exposures: {},
    child_map: childMap,
  };
}
