import { environmentKey, type ResolvedEnvironment } from '../config/resolve';
import { fastGlob } from '../config/walk';
import type { ConflictStrategy } from '../config/schema';
import type { DbProject, Workspace } from '../config/workspace';
import type { BuildAside, Connection, Engine, SetAside } from '../engine/engine';
import { DbeeError } from '../errors';
import { formatKey, parseKey, type ObjectKey } from '../model/object-key';
import type { Plan, PlanStep } from '../plan/plan';
import type { StepConflict } from '../runner/runner';
import type { SchemaModel } from '../schema/model';

/** The strategy that applies to one object if it turns out to exist, and where it was set. */
export interface ConflictRule {
  strategy: ConflictStrategy;
  copyData: boolean;
  /** Where it was set, e.g. `--if-exists`, `sales/db.yaml conflicts[0] "schema/legacy/**"`, `default`. */
  source: string;
}

/** What deploy decided for one step that creates an object. */
export interface ConflictDecision {
  rule: ConflictRule;
  /** The object exists in the database although the ledger does not know it. */
  exists: boolean;
  /** How the runner gets past it (strategies `rename`, `drop` and `ignore`). */
  resolution?: StepConflict;
  /** Strategy `skip`: the existing object stays as it is; the step does not run and nothing is recorded for it. */
  skipped?: boolean;
  /** Why the step cannot run (strategy `raise`, or an engine that cannot rename that kind). */
  problem?: DbeeError;
  /**
   * The object went along with its schema, which an earlier step renamed aside: where it is kept now. Its CREATE
   * meets nothing; with `copyData` (a table), its rows are copied from there.
   */
  movedWith?: { schema: string; backup: ObjectKey };
}

/**
 * Decides conflict strategies, most explicit first:
 *
 * 1. `--if-exists` on the command line (for this run only),
 * 2. the most specific `conflicts:` rule of the project's db.yaml matching the object's file (an exact path beats
 *    a glob; between globs, the longer literal part before the first wildcard wins; then the first listed),
 * 3. `deploy.ifExists` of db.yaml `environments.<env>`, then of db.yaml,
 * 4. `deploy.ifExists` of dbee.yaml `environments.<env>`, then of dbee.yaml,
 * 5. `raise`.
 *
 * What each strategy does with an object that exists although the ledger does not know it: `raise` refuses the
 * deployment before anything runs; `rename` keeps it under a backup name (with `copyData`, its rows are copied into
 * the new table); `drop` drops it; `skip` leaves it as it is and does not run the step (the ledger still does not
 * know it, so the next deployment meets it again and skips it again); `ignore` runs the step as written over it (a
 * plain `CREATE` then fails with the engine's error, a `REPLACE` replaces it) and records the object as deployed,
 * with the existing definition as the reverse where the engine can read it.
 *
 * `copyData` comes from the matching `conflicts:` rule when it sets it, else from the merged deploy settings.
 */
export class ConflictRules {
  private readonly globs = new Map<
    string,
    {
      index: number;
      match: string;
      files: Set<string>;
      ifExists: ConflictStrategy;
      copyData?: boolean;
      score: number;
    }[]
  >();

  constructor(
    private readonly workspace: Workspace,
    private readonly environment: ResolvedEnvironment,
    private readonly cli: ConflictStrategy | undefined,
  ) {}

  /**
   * A step's file as a `conflicts:` rule of its project's db.yaml matches it (relative to the project's folder), e.g.
   * `schema/sales/tables/promotions.sql` for `databases/sales/schema/sales/tables/promotions.sql`.
   */
  projectPath(step: PlanStep): string | null {
    if (!step.source) return null;
    const root = this.workspace.project(step.project).relativeRoot;
    return root && step.source.file.startsWith(root + '/') ? step.source.file.slice(root.length + 1) : step.source.file;
  }

  /** The db.yaml of a step's project, as the user finds it (`databases/sales/db.yaml`). */
  projectFile(step: PlanStep): string {
    return this.workspace.project(step.project).file.displayPath;
  }

  ruleFor(step: PlanStep): ConflictRule {
    const project = this.workspace.project(step.project);
    const settings = this.workspace.settings(project, this.environment).deploy;
    const glob = step.source ? this.matchingRule(project, step.source.file) : undefined;
    const copyData = glob?.copyData ?? settings.copyData ?? false;
    if (this.cli) return { strategy: this.cli, copyData, source: '--if-exists' };
    const file = project.file.displayPath;
    if (glob) return { strategy: glob.ifExists, copyData, source: `${file} conflicts[${glob.index}] "${glob.match}"` };
    // A fleet's target (a preview) takes the fleet's (its base's) settings: they are keyed by that name.
    const env = environmentKey(this.environment);
    const layers: [ConflictStrategy | undefined, string][] = [
      [project.config.environments?.[env]?.deploy?.ifExists, `${file} environments.${env}.deploy.ifExists`],
      [project.config.deploy?.ifExists, `${file} deploy.ifExists`],
      [
        this.workspace.config.environments[env]?.deploy?.ifExists,
        `${this.workspace.file.displayPath} environments.${env}.deploy.ifExists`,
      ],
      [this.workspace.config.deploy?.ifExists, `${this.workspace.file.displayPath} deploy.ifExists`],
    ];
    for (const [strategy, source] of layers) if (strategy) return { strategy, copyData, source };
    return { strategy: 'raise', copyData, source: 'default' };
  }

  private matchingRule(project: DbProject, file: string) {
    let rules = this.globs.get(project.name);
    if (!rules) {
      const prefix = project.relativeRoot ? project.relativeRoot + '/' : '';
      rules = (project.config.conflicts ?? []).map((r, index) => ({
        index,
        match: r.match,
        ifExists: r.ifExists,
        copyData: r.copyData,
        // Matched with the same glob engine as `sources:`, against the project's files.
        files: new Set(
          fastGlob()
            .sync(r.match, { cwd: project.root, dot: true, onlyFiles: true })
            .map((f) => prefix + f),
        ),
        score: specificity(r.match),
      }));
      this.globs.set(project.name, rules);
    }
    let best: (typeof rules)[number] | undefined;
    for (const r of rules) if (r.files.has(file) && (!best || r.score > best.score)) best = r;
    return best;
  }
}

function specificity(pattern: string): number {
  if (!fastGlob().isDynamicPattern(pattern)) return 1_000_000 + pattern.length;
  const magic = pattern.search(/[*?[\]{}()!]/);
  return magic < 0 ? pattern.length : magic;
}

/** The statement of a step that creates its object, if any (comments before it skipped). */
function createStatement(step: PlanStep): string | undefined {
  return step.statements
    .map((s) => s.replace(/^(\s*(--[^\n]*\n|\/\*[\s\S]*?\*\/))*\s*/, ''))
    .find((s) => /^CREATE\b/i.test(s));
}

/**
 * Whether a step's CREATE would collide with an object of the same name: `CREATE OR REPLACE`, `REPLACE` and
 * `IF NOT EXISTS` never do, and only `create` steps make objects that the ledger does not know yet.
 */
export function canConflict(step: PlanStep, replaceConflicts = false): boolean {
  if (step.action !== 'create') return false;
  // Engines with `replaceConflicts` (Teradata): a REPLACE over an object the ledger does not know overwrites it.
  if (replaceConflicts && step.statements.some((s) => /^REPLACE\b/i.test(bare(s)))) return true;
  const create = createStatement(step);
  return (
    create !== undefined &&
    !/^CREATE\s+OR\s+REPLACE\b/i.test(create) &&
    !/\bIF\s+NOT\s+EXISTS\b/i.test(create.slice(0, 200))
  );
}

/** Statements without the comments before them. */
const bare = (sql: string) => sql.replace(/^(\s*(--[^\n]*\n|\/\*[\s\S]*?\*\/))*\s*/, '');

/** `s.old` or `"s"."Old"` → its last name, unquoted. */
function lastName(qualified: string): string {
  const parts = qualified.match(/"(?:[^"]|"")*"|[^."]+/g) ?? [qualified];
  const last = parts[parts.length - 1]!;
  return last.startsWith('"') ? last.slice(1, -1).replace(/""/g, '"') : last.toLowerCase();
}

/**
 * The `create` steps whose object the plan itself gets out of the way first: dropped (or renamed aside) by an
 * earlier step or earlier in the same step, renamed away by an earlier `ALTER ... RENAME TO`, or gone with the
 * table an earlier step dropped (its indexes, triggers and policies). Such a CREATE meets no object in the
 * database when it runs, so it is no conflict, and `ifExists: drop` must not drop it a second time.
 */
export function freedBeforeCreate(plan: Plan): Set<number> {
  const gone = new Set<string>();
  const goneTables = new Set<string>();
  const result = new Set<number>();
  const free = (key: string, kind: string, parent: string) => {
    gone.add(key);
    gone.add(nameSlot(parseKey(key)));
    if (kind === 'table' || kind === 'materialized-view' || kind === 'view') goneTables.add(parent);
  };
  for (const step of [...plan.steps].sort((a, b) => a.order - b.order)) {
    const k = step.objectKey;
    const own = `${k.schema ? k.schema + '.' : ''}${k.name}`;
    const statements = step.statements.map(bare);
    if (step.action === 'create') {
      const create = statements.findIndex((s) => /^CREATE\b/i.test(s));
      const dropsFirst = create > 0 && statements.slice(0, create).some((s) => /^DROP\b/i.test(s));
      if (gone.has(step.key) || gone.has(nameSlot(k)) || dropsFirst || (k.parent && goneTables.has(k.parent)))
        result.add(step.order);
      gone.delete(step.key);
      gone.delete(nameSlot(k));
      if (k.kind === 'table' || k.kind === 'view' || k.kind === 'materialized-view') goneTables.delete(own);
      continue;
    }
    if (step.action === 'drop' || step.action === 'rename-aside') {
      free(step.key, k.kind, own);
      continue;
    }
    for (const sql of statements) {
      const renamed =
        /^ALTER\s+(?:TABLE|VIEW|MATERIALIZED\s+VIEW|SEQUENCE|INDEX|TYPE|DOMAIN)\s+(?:IF\s+EXISTS\s+)?((?:"(?:[^"]|"")*"|[^\s."]+)(?:\.(?:"(?:[^"]|"")*"|[^\s."]+))?)\s+RENAME\s+TO\b/i.exec(
          sql,
        );
      if (!renamed) continue;
      const old = { ...k, name: lastName(renamed[1]!) };
      free(formatKey(old), k.kind, `${k.schema ? k.schema + '.' : ''}${old.name}`);
    }
  }
  return result;
}

/** Kinds whose names share one namespace in a schema (PostgreSQL's relations; types and domains). */
const SHARED_NAMES: Record<string, string> = {
  table: 'relation',
  view: 'relation',
  'materialized-view': 'relation',
  sequence: 'relation',
  index: 'relation',
  type: 'type',
  domain: 'type',
  function: 'routine',
  procedure: 'routine',
};

/**
 * The name an object takes in its schema: a view dropped frees the name for a table of that name (`relation:s.x`),
 * a function for a procedure with the same arguments. Other kinds: the key itself.
 */
function nameSlot(k: ObjectKey): string {
  const shared = SHARED_NAMES[k.kind];
  if (!shared) return formatKey(k);
  return `${shared}:${k.schema}.${k.name}${shared === 'routine' ? `(${(k.args ?? []).join(',')})` : ''}`;
}

/**
 * Whether an object cannot exist because its schema is one of `missing` (a schema the deployment found missing under
 * its lock): the schema itself, or an object named in it (a trigger, policy or constraint also by its table's schema).
 * An extension is not: it is one per database, whatever schema it was put in.
 */
function inMissingSchema(k: ObjectKey, missing: ReadonlySet<string>): boolean {
  if (k.kind === 'schema') return missing.has(k.name);
  if (k.kind === 'extension' || !missing.has(k.schema)) return false;
  const dot = k.parent?.indexOf('.') ?? -1;
  return !k.parent || (dot > 0 && missing.has(k.parent.slice(0, dot)));
}

/**
 * For every step that creates an object: the rule that applies, whether the object already exists (one catalog
 * query; none for an object whose schema is among `missingSchemas`, which the deployment found missing under its
 * lock), and for existing ones the statements that get it out of the way. Reads only: a dry run calls it too.
 */
export async function decideConflicts(
  engine: Engine,
  conn: Connection,
  plan: Plan,
  rules: ConflictRules,
  stamp: string,
  missingSchemas: ReadonlySet<string> = new Set(),
): Promise<Map<number, ConflictDecision>> {
  const decisions = new Map<number, ConflictDecision>();
  const freed = freedBeforeCreate(plan);
  const candidates = plan.steps.filter(
    (s) => canConflict(s, engine.capabilities.replaceConflicts) && !freed.has(s.order),
  );
  if (!candidates.length) return decisions;
  const asked = candidates.filter((s) => !inMissingSchema(s.objectKey, missingSchemas));
  const existing =
    engine.catalog && asked.length
      ? await engine.catalog.existingObjects(
          conn,
          asked.map((s) => s.objectKey),
        )
      : new Set<string>();
  // Schemas renamed aside by an earlier step: name → backup name. What they hold went along with them.
  const movedSchemas = new Map<string, string>();
  for (const step of candidates) {
    const rule = rules.ruleFor(step);
    const exists = existing.has(step.key);
    const decision: ConflictDecision = { rule, exists };
    decisions.set(step.order, decision);
    if (!exists) continue;
    const k = step.objectKey;
    const movedTo = k.kind !== 'schema' && k.schema !== null ? movedSchemas.get(k.schema) : undefined;
    if (movedTo !== undefined) {
      movedWithSchema(engine, decision, k, movedTo);
      continue;
    }
    await decideExisting(engine, conn, step, rules, decision, stamp);
    const backup = decision.resolution?.backup;
    if (k.kind === 'schema' && rule.strategy === 'rename' && backup) movedSchemas.set(k.name, backup.name);
  }
  return decisions;
}

/**
 * An existing object of a schema that an earlier step renamed aside (to `movedTo`): it went along with the schema, so
 * its CREATE meets nothing; a renamed table with `copyData` gets its rows from there.
 */
function movedWithSchema(engine: Engine, decision: ConflictDecision, k: ObjectKey, movedTo: string): void {
  const { rule } = decision;
  const backup = { ...k, schema: movedTo };
  const copy =
    rule.strategy === 'rename' && rule.copyData && k.kind === 'table'
      ? (engine.catalog?.renderCopyData(backup, k) ?? null)
      : null;
  decision.movedWith = { schema: k.schema!, backup };
  decision.resolution = {
    strategy: 'rename',
    rule: rule.source,
    before: [],
    after: copy ? [copy] : [],
    reverse: [],
    backup: null,
  };
}

/**
 * What the rule does with a step's object that exists: `raise` refuses, `skip` leaves the step out, `ignore` runs it
 * as written over the object, `rename` and `drop` set the object aside first (with what stands on it, and for a
 * renamed table with `copyData` its rows brought over after).
 */
async function decideExisting(
  engine: Engine,
  conn: Connection,
  step: PlanStep,
  rules: ConflictRules,
  decision: ConflictDecision,
  stamp: string,
): Promise<void> {
  const { rule } = decision;
  const location = step.source ? { file: step.source.file, line: step.source.line } : undefined;
  if (rule.strategy === 'raise') {
    decision.problem = new DbeeError(
      `${step.key} already exists in the database, but the ledger does not know it (made outside dbee, or by another tool)`,
      {
        code: 'OBJECT_CONFLICT',
        location,
        hint:
          'choose what to do with the existing object: ifExists: rename (keep it as a timestamped backup; add copyData: true to bring its rows over), ifExists: drop, ifExists: skip (leave it as it is, do not deploy the file) or ifExists: ignore (run the file over it as written); ' +
          `set it for this run with --if-exists, for an environment or project with deploy.ifExists, or for this file with conflicts: [{ match: "${rules.projectPath(step) ?? '<file>'}", ifExists: rename }] in ${rules.projectFile(step)}`,
        details: { object: step.key, rule: rule.source },
      },
    );
    return;
  }
  if (rule.strategy === 'skip') {
    decision.skipped = true;
    return;
  }
  if (rule.strategy === 'ignore') {
    // Nothing moves. The reverse drops what the step made (its own) and brings the existing definition back: an
    // object the engine cannot write as a statement (a table's rows) has no reverse, and rollback refuses the step.
    const existing = engine.catalog ? await engine.catalog.captureDefinition(conn, step.objectKey) : null;
    decision.resolution = {
      strategy: 'ignore',
      rule: rule.source,
      before: [],
      after: [],
      reverse: existing ? [existing] : null,
      backup: null,
      definition: existing,
    };
    return;
  }
  const aside = engine.catalog ? await engine.catalog.setAside(conn, step.objectKey, rule.strategy, stamp) : null;
  if (!aside) {
    decision.problem = new DbeeError(
      `${step.key} already exists, and this engine cannot ${rule.strategy} a ${step.objectKey.kind} (rule: ${rule.source})`,
      {
        code: 'OBJECT_CONFLICT',
        location,
        hint: 'remove or rename the existing object by hand, or choose another strategy for it',
      },
    );
    return;
  }
  const dependents = aside.dependents?.drop.length ? aside.dependents : undefined;
  if (rule.strategy === 'rename' && aside.buildAside) {
    decision.resolution = builtAside(step, rule, aside, aside.buildAside, dependents);
    return;
  }
  const copy =
    rule.strategy === 'rename' && rule.copyData && aside.backup && step.objectKey.kind === 'table'
      ? (engine.catalog?.renderCopyData(aside.backup, step.objectKey) ?? null)
      : null;
  decision.resolution = {
    strategy: rule.strategy,
    rule: rule.source,
    before: [...(dependents?.drop ?? []), ...aside.statements],
    after: [...(copy ? [copy] : []), ...(dependents?.create ?? []), ...(aside.after ?? [])],
    reverse: aside.reverse && dependents ? [...aside.reverse, ...dependents.create] : aside.reverse,
    backup: aside.backup,
    ...(dependents ? { dependents } : {}),
  };
}

/**
 * A `rename` the engine builds aside, then swaps in (`SetAside.buildAside`): the whole step comes from the engine, and
 * the old object keeps its name until the swap. What makes the build impossible is refused here, before anything runs.
 */
function builtAside(
  step: PlanStep,
  rule: ConflictDecision['rule'],
  aside: SetAside,
  build: BuildAside,
  dependents: SetAside['dependents'],
): StepConflict {
  const copyData = !!rule.copyData && step.objectKey.kind === 'table';
  build.check?.(copyData);
  return {
    strategy: 'rename',
    rule: rule.source,
    before: [],
    after: [],
    reverse: aside.reverse && dependents ? [...aside.reverse, ...dependents.create] : aside.reverse,
    backup: aside.backup,
    build: { statements: build.statements, undoAt: build.undoAt, copyData },
    ...(dependents ? { dependents } : {}),
  };
}

/**
 * The live model of a project planned by a diff, without the objects the sources define but the ledger does not know
 * (made outside dbee, by hand or by another tool), and what stands on them (a table's indexes, triggers, comments,
 * grants, owner). The diff then plans such an object as a CREATE, which meets the existing object: a conflict, decided
 * by `--if-exists` and the conflict rules (`decideConflicts`) as it is when the project is planned from the ledger,
 * instead of an ALTER that silently adopts it. Routines are left as they are (their CREATE OR REPLACE never conflicts).
 * `wanted`: the keys of the objects the project's source files define (a serial's sequence, say, is not one: it comes
 * with its table); `known`: the object keys the ledger holds for the project.
 */
export function withoutUnknownObjects(
  live: SchemaModel,
  wanted: ReadonlySet<string>,
  known: ReadonlySet<string>,
): { model: SchemaModel; unknown: string[] } {
  const unknown = new Set<string>();
  const relations = new Set<string>();
  for (const list of ['tables', 'views', 'sequences', 'types'] as const) {
    for (const o of live[list] as { key: ObjectKey }[]) {
      const key = formatKey(o.key);
      if (!wanted.has(key) || known.has(key)) continue;
      unknown.add(key);
      if (list === 'tables' || list === 'views') relations.add(`${o.key.schema}.${o.key.name}`);
    }
  }
  for (const list of ['indexes', 'triggers'] as const) {
    for (const o of live[list]) {
      const key = formatKey(o.key);
      if ((o.key.parent && relations.has(o.key.parent)) || (wanted.has(key) && !known.has(key))) unknown.add(key);
    }
  }
  if (!unknown.size) return { model: live, unknown: [] };
  const keep = <T extends { key: ObjectKey }>(items: T[]) => items.filter((o) => !unknown.has(formatKey(o.key)));
  const on = <T extends { target: ObjectKey }>(items: T[]) =>
    items.filter((o) => !unknown.has(formatKey(o.target)) && !(o.target.parent && relations.has(o.target.parent)));
  const model: SchemaModel = {
    ...live,
    tables: keep(live.tables),
    views: keep(live.views),
    sequences: keep(live.sequences),
    types: keep(live.types),
    indexes: keep(live.indexes),
    triggers: keep(live.triggers),
    comments: on(live.comments),
    privileges: on(live.privileges),
    owners: on(live.owners),
  };
  return { model, unknown: [...unknown].sort() };
}
