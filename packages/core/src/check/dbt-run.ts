import type { Connection, Engine, LineageRole, QueryLineage, StatementDescription } from '../engine/engine';
import { DbeeError } from '../errors';
import type { Plan } from '../plan/plan';
import { emptyModel, type SchemaModel } from '../schema/model';
import type { VerifyProbe, VerifyResult } from './verify-result';
import { checkDbt, columnsBefore, RelationIndex, relationsRead, touchedRelations, type DbtReport } from './dbt-check';
import type { DbtManifest } from './dbt-manifest';
import { dbtDrift, type DbtDriftFinding, type DriftSide } from './dbt-drift';
import type { DbtCheckSettings } from '../config/schema';

/** What the dbt check needs from the projects: their relations, schemas and search path. */
export interface DbtProjects {
  /** Tables and views the planned projects define (`schema.name`). */
  relations: ReadonlySet<string>;
  /** Every schema of the planned projects (read on the copy). */
  schemas: string[];
  /** The target project's search path, for unqualified names. */
  searchPath: string[];
  /** `schema.name` → where the object is defined (`file:line`), for the drift rules' messages. */
  objectFiles: ReadonlyMap<string, string>;
  /** The environment's name, for the drift rules' messages. */
  environment: string;
  /**
   * With the expand-contract strategy: the new version schemas of the release (`sales_v2`). The nodes are then also
   * judged against the shape they give each table (what is left once `dbee complete` runs), in `DbtReport.nextVersion`.
   */
  newVersionSchemas?: string[];
}

/** What the dbt check came to: the report and the drift findings. */
export interface DbtResult {
  report: DbtReport;
  drift: DbtDriftFinding[];
}

/** A dbt check in progress: the probe for the verified dry run's copy, then the report. */
export interface DbtRun {
  manifest: DbtManifest;
  /** Reads the copy before and after the release (models, compiled SQL described). */
  probe: VerifyProbe;
  /** The report, once `verifyPlan` ran with the probe (`verified`), or without a copy (null: object level). */
  result(plan: Plan, verified: VerifyResult | null): DbtResult;
}

/**
 * The dbt check of one release: reads what each node's compiled SQL names with the engine's parser (`LineageRole`),
 * takes the projects' tables and views before the plan from the schema the scratch copy was made of, reads the copy's
 * after it (their columns only: `DiffRole.introspectRelations`), and describes there (parse and analyse, never run)
 * the compiled SQL of every node whose relations are all dbee's and that reads one the plan touches. Without the diff role (no copy) or the lineage role, the report is at the object level, and says why.
 */
export function prepareDbtRun(
  engine: Engine,
  manifest: DbtManifest,
  projects: DbtProjects,
  plan: Plan,
  drift: DbtCheckSettings['drift'],
): DbtRun {
  // The projects' relations, and once the copy is read, those it holds (a table a migration drops has no source).
  let relations: ReadonlySet<string> = projects.relations;
  let index = new RelationIndex(relations, projects.searchPath);
  let before: SchemaModel | null = null;
  let after: SchemaModel | null = null;
  let next: SchemaModel | null = null;
  let lineage = new Map<string, QueryLineage | DbeeError>();
  const described = new Map<string, { before: StatementDescription; after: StatementDescription }>();
  let candidates: { id: string; sql: string }[] = [];
  // The candidates' SQL texts that bound on the copy before the release.
  let bound = new Set<string>();
  const path = engine.session.searchPath(projects.searchPath);
  const columnLevel = Boolean(engine.diff && engine.lineage);
  // Each distinct SQL text once (dbt projects repeat a model's SQL in tests and snapshots); after the release, only
  // what bound before it (`settle` reads nothing else).
  const describeAll = async (conn: Connection, only?: (sql: string) => boolean) => {
    const out = new Map<string, StatementDescription>();
    if (!conn.describe) return out;
    if (path) await conn.execute(path);
    for (const { sql } of candidates) if (!out.has(sql) && (!only || only(sql))) out.set(sql, await conn.describe(sql));
    return out;
  };
  return {
    manifest,
    probe: {
      async before(conn, copied) {
        if (!columnLevel) return;
        // The copy holds the schema it was made from (the target's, read from its catalog), so that is the columns
        // before the release: not read again on the copy (every diff compares a model read there with one read here).
        before = relationsIn(copied, projects.schemas);
        relations = new Set([
          ...projects.relations,
          ...[...before.tables, ...before.views].map((r) => `${r.key.schema}.${r.key.name}`),
        ]);
        index = new RelationIndex(relations, projects.searchPath);
        lineage = await readLineage(engine.lineage, manifest, columnsBefore(before, index), mayRead(plan));
        candidates = describable(manifest, index, lineage, plan);
        const was = await describeAll(conn);
        bound = new Set([...was].flatMap(([sql, d]) => (d.ok ? [sql] : [])));
        for (const c of candidates) {
          const d = was.get(c.sql);
          if (d) described.set(c.id, { before: d, after: d });
        }
      },
      async after(conn) {
        if (!columnLevel || !before) return;
        after = await readRelations(engine, conn, projects.schemas);
        if (projects.newVersionSchemas?.length)
          next = newVersionShape(
            after,
            await readRelations(engine, conn, projects.newVersionSchemas),
            projects.schemas,
          );
        const is = await describeAll(conn, (sql) => bound.has(sql));
        for (const c of candidates) {
          const was = described.get(c.id);
          const now = is.get(c.sql);
          if (was && now) described.set(c.id, { before: was.before, after: now });
        }
      },
    },
    result(plan, verified) {
      const copied = verified?.verified && !verified.problems.length && before && after;
      const missing = !engine.lineage
        ? `the ${engine.name} engine has no parser for the columns a query reads, so the column level is not available`
        : !verified?.verified
          ? `the column level needs the plan applied to a scratch copy of the target, and ${verified?.skipped ?? 'there is none'}`
          : verified.problems.length
            ? `the plan fails on the scratch copy (${verified.problems[0]!.message.split('\n')[0]}), so the columns after it are not known`
            : undefined;
      const sides: DriftSide[] = copied
        ? [
            { label: 'the desired schema', model: after! },
            { label: `environment ${projects.environment}`, model: before! },
          ]
        : [];
      const report = checkDbt({
        manifest,
        steps: plan.steps,
        relations,
        searchPath: projects.searchPath,
        ...(copied ? { columns: { before: before!, after: after!, facts: engine.diff!.facts } } : {}),
        columnLevelMissing: missing,
        lineage,
        descriptions: copied ? described : undefined,
        failed: verified?.problems.flatMap((p) => {
          const step = plan.steps.find((s) => s.order === Number(p.details.step));
          return step ? [{ step, error: failureOf(p) }] : [];
        }),
      });
      if (copied && next) {
        const later = checkDbt({
          manifest,
          steps: plan.steps,
          relations,
          searchPath: projects.searchPath,
          columns: { before: before!, after: next, facts: engine.diff!.facts },
          lineage,
        });
        report.nextVersion = {
          schemas: projects.newVersionSchemas!,
          nodes: later.nodes.filter((n) => n.verdict !== 'pass'),
        };
      }
      const found = dbtDrift({
        manifest,
        index,
        schemas: projects.schemas,
        objectFiles: projects.objectFiles,
        sides,
        facts: engine.diff?.facts ?? null,
        settings: drift,
      });
      return { report, drift: found };
    },
  };
}

/** A step's failure on the copy in a line: the error, without what `verifyPlan` says around it. */
function failureOf(problem: DbeeError): string {
  const first = problem.message.split('\n')[0]!;
  const at = first.indexOf("fails on a copy of the target's schemas: ");
  return at < 0 ? first : first.slice(at + "fails on a copy of the target's schemas: ".length);
}

/** The copy's tables and views in `schemas`, their columns only where the engine reads just those. */
function readRelations(engine: Engine, conn: Connection, schemas: string[]): Promise<SchemaModel> {
  const diff = engine.diff!;
  return diff.introspectRelations ? diff.introspectRelations(conn, { schemas }) : diff.introspect(conn, { schemas });
}

/** The tables and views of `model` in `schemas`: what the dbt check reads of a model. */
function relationsIn(model: SchemaModel, schemas: readonly string[]): SchemaModel {
  const inScope = (r: { key: { schema: string } }) => schemas.includes(r.key.schema);
  return { ...emptyModel(), tables: model.tables.filter(inScope), views: model.views.filter(inScope) };
}

/**
 * The tables as the new version schemas show them (each view `sales_v2.orders` standing for `sales.orders`): what the
 * models meet once the release is completed and the old columns go.
 */
function newVersionShape(after: SchemaModel, versions: SchemaModel, schemas: readonly string[]): SchemaModel {
  const base = (versionSchema: string) =>
    [...schemas].sort((a, b) => b.length - a.length).find((s) => versionSchema.startsWith(`${s}_v`));
  const views = versions.views.flatMap((v) => {
    const schema = base(v.key.schema);
    return schema ? [{ ...v, key: { ...v.key, schema } }] : [];
  });
  return { ...after, views: [...after.views, ...views] };
}

/**
 * Every judged node's compiled SQL through the engine's parser (an error kept for the node, never thrown), each distinct
 * SQL text once: nodes that share a text share its reading (it depends on nothing else than the text and `columnsOf`).
 */
export async function readLineage(
  role: LineageRole | undefined,
  manifest: DbtManifest,
  columnsOf: Parameters<LineageRole['read']>[1],
  worth: (sql: string) => boolean = () => true,
): Promise<Map<string, QueryLineage | DbeeError>> {
  const out = new Map<string, QueryLineage | DbeeError>();
  if (!role) return out;
  const read = new Map<string, QueryLineage | DbeeError>();
  for (const node of manifest.nodes.values()) {
    const sql = node.compiledCode;
    if (!sql || node.language !== 'sql' || /\{\{|\{%/.test(sql)) continue;
    let lineage = read.get(sql);
    if (!lineage) {
      if (!worth(sql)) continue;
      try {
        lineage = await role.read(sql, columnsOf);
      } catch (e) {
        if (!(e instanceof DbeeError)) throw e;
        lineage = e;
      }
      read.set(sql, lineage);
    }
    out.set(node.uniqueId, lineage);
  }
  return out;
}

/**
 * Whether a node's SQL can read what the plan changes, before it is parsed: it names a relation a step touches, as a
 * whole name (without case; not followed or preceded by a letter, digit, `_` or `$`, so `orders` is not found in
 * `orders_archive`). A plan whose steps are not all on named relations (a migration, an expand) may change any: every
 * node is read. Parsing only those keeps a release of a few tables cheap against a manifest of thousands of models,
 * and no verdict rests on it: a query reads a relation only by naming it, and a node left unread that still reaches a
 * changed relation (through a source in its `depends_on`) is judged unknown, never passed.
 */
export function mayRead(plan: Plan): (sql: string) => boolean {
  if (plan.steps.some((s) => s.action === 'migrate' || !s.objectKey.schema)) return () => true;
  const names = [
    ...new Set([...touchedRelations(plan.steps).keys()].map((k) => k.slice(k.indexOf('.') + 1).toLowerCase())),
  ];
  if (!names.length) return () => false;
  const alternatives = names.map((n) => n.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')).join('|');
  const named = new RegExp(`(?<![A-Za-z0-9_$])(?:${alternatives})(?![A-Za-z0-9_$])`);
  return (sql) => named.test(sql.toLowerCase());
}

/**
 * The nodes whose compiled SQL the copy can settle: every relation it names is dbee's (the copy holds nothing else),
 * and it reads one a step touches (every such node when a step's object is not a relation: a migration, an expand).
 */
function describable(
  manifest: DbtManifest,
  index: RelationIndex,
  lineage: Map<string, QueryLineage | DbeeError>,
  plan: Plan,
): { id: string; sql: string }[] {
  const touched = touchedRelations(plan.steps);
  const opaque = plan.steps.some((s) => s.action === 'migrate' || !s.objectKey.schema);
  const out: { id: string; sql: string }[] = [];
  for (const [id, read] of lineage) {
    if (read instanceof DbeeError) continue;
    const node = manifest.nodes.get(id)!;
    if (!read.relations.every((r) => index.resolve(r))) continue;
    const keys = relationsRead(node, manifest, index, read);
    if (opaque || [...keys.keys()].some((k) => touched.has(k))) out.push({ id, sql: node.compiledCode! });
  }
  return out;
}
