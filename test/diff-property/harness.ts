import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { formatKey, loadProjectModel, planFromSources, Workspace, type Connection } from '@dbee/core';
import { createPostgresEngine } from '@dbee/postgres';
import { diffModels } from '../support/pg-diff';
import { introspect } from '../../packages/postgres/src/introspect';
import { FINGERPRINT_SQL } from '../../packages/postgres/src/introspect/fingerprint';
import { renderPlanSteps } from '../../packages/postgres/src/render';
import { applySteps, openScratch, SERVER_URL, type EngineName, type Scratch } from '../diff/helpers';
import { generateSpec, mutateSpec, specSql, type Spec } from './generator';

/** The role grants and policies of generated schemas name; made once per database (once per server cluster). */
export const PROPERTY_ROLE = 'dbee_t_prop_reader';
const CREATE_ROLE = `DO $$ BEGIN CREATE ROLE ${PROPERTY_ROLE} NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`;

export interface PairFailure {
  seed: number;
  stage: string;
  message: string;
}

export interface PairRun {
  pairs: number;
  failures: PairFailure[];
}

/**
 * The catalog lines of a schema, sorted, as the fingerprint query prints them (independent of the introspector),
 * with a column's logical position instead of its attnum (a dropped column leaves a gap that pg_dump does not show).
 */
const CATALOG_SQL = FINGERPRINT_SQL.replace(
  'a.attnum, a.attname',
  '(select count(*) from pg_attribute a2 where a2.attrelid = a.attrelid and a2.attnum > 0 and not a2.attisdropped and a2.attnum <= a.attnum), a.attname',
).replace(/,\s*-- Each scope[\s\S]*$/, '\nselect line from defs order by line collate "C"');

/**
 * The catalog of `schema` as lines (independent of dbee's introspector): what a converge test compares between the
 * database a plan was applied to and the one built directly from the desired sources.
 */
export async function catalog(conn: Connection, schema: string): Promise<string[]> {
  // JIT off, as dbee runs the fingerprint query (FINGERPRINT_SETTINGS): with the server's default `jit = on`, this
  // query's estimated cost is above `jit_above_cost` and each run was compiled with LLVM first (223 runs in the
  // suite, 0.1-0.3 s of server CPU each), for the same lines.
  const jit = (
    await conn.query<{ jit: string }>(
      `select current_setting('jit') as jit, set_config('search_path', 'pg_catalog', false), set_config('jit', 'off', false)`,
    )
  ).rows[0]!.jit;
  try {
    // An ACL equal to the owner's default prints as nothing in pg_dump, whether the catalog holds NULL or the list.
    const defaults =
      /\|(?:postgres=arwdDxtm?\/postgres|=X\/postgres,postgres=X\/postgres|=U\/postgres,postgres=U\/postgres|postgres=UC\/postgres)(?=\||$)/g;
    // A column added to an inheritance parent is appended to each child after the child's own columns, where a
    // fresh build puts the parent's columns first (PostgreSQL's ALTER TABLE ... ADD COLUMN; the diff never reorders
    // columns, README "What the diff supports"): children's columns are compared by name, type and default only.
    const children = (
      await conn.query<{ name: string }>(
        `select n.nspname || '.' || c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = $1 and not c.relispartition and exists (select 1 from pg_inherits i where i.inhrelid = c.oid)`,
        [schema],
      )
    ).rows.map((r) => r.name);
    const unordered = (line: string) => {
      const m = /^c\|([^|]+)\|\d+\|/.exec(line);
      return m && children.includes(m[1]!) ? line.replace(/^(c\|[^|]+\|)\d+\|/, '$1*|') : line;
    };
    return (await conn.query<{ line: string }>(CATALOG_SQL, [[schema], null, true, true])).rows.map((r) =>
      unordered(r.line.replace(defaults, '')),
    );
  } finally {
    await conn.query(`select set_config('search_path', 'public', false), set_config('jit', $1, false)`, [jit]);
  }
}

/** Pairs whose schemas one pg_dump compares (`PropertyBench.dumpCheck`). */
const DUMP_BATCH = 15;

/** `pg_dump -s -n schema...` of a server database, without the lines that name the dump itself. */
async function pgDump(url: string, schemas: string[]): Promise<string> {
  const { stdout: out } = await promisify(execFile)(
    'pg_dump',
    ['-s', ...schemas.flatMap((s) => ['-n', s]), '--no-comments', url],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  return out
    .split('\n')
    .filter((l) => !/^(--|SET |SELECT pg_catalog\.set_config|\\restrict|\\unrestrict)/.test(l))
    .join('\n');
}

/**
 * Build `spec` in `conn` as a deploy of sources does (desired state): its SQL split into one file per object (each
 * object's statements in their order, `ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY` in its table's file), the files
 * named so that their order says nothing about dependencies, planned by dbee's planner, its steps run in plan order.
 */
export async function buildFromSources(conn: Connection, spec: Spec): Promise<void> {
  const engine = createPostgresEngine();
  const statements = await engine.parser.parse(specSql(spec), 'all.sql', { searchPath: [spec.schema] });
  const files = new Map<string, string[]>();
  let previous = 'orphans';
  for (const st of statements) {
    if (st.key) previous = createHash('sha1').update(formatKey(st.key)).digest('hex').slice(0, 12);
    files.set(previous, [...(files.get(previous) ?? []), st.sql]);
  }
  const root = mkdtempSync(join(tmpdir(), 'dbee-prop-'));
  try {
    writeFileSync(
      join(root, 'dbee.yaml'),
      'version: 1\ndefaultEnvironment: local\nenvironments:\n  local:\n    engine: postgres\n    connection: { embedded: .dbee/local }\n',
    );
    mkdirSync(join(root, 'p', 'schema'), { recursive: true });
    writeFileSync(join(root, 'p', 'db.yaml'), `version: 1\nname: p\nengine: postgres\nschemas: [${spec.schema}]\n`);
    for (const [name, sql] of files) writeFileSync(join(root, 'p', 'schema', `${name}.sql`), `${sql.join(';\n')};\n`);
    const workspace = Workspace.load(root);
    const project = workspace.project('p');
    const model = await loadProjectModel(root, project, {}, engine.parser, workspace.projects);
    const plan = planFromSources({
      engine,
      models: [model],
      planned: ['p'],
      schemaOwners: new Map([[spec.schema, 'p']]),
    });
    for (const step of plan.steps) await conn.execute(step.statements.join(';\n'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * Catalog lines of `schema` with its name as `S` (the name alone: seed 0's sequence `seq0` in schema `q0`, the direct
 * build's name, is compared with `seq0` in `q0e`), and the validity of the checks a child only inherits left out: a
 * child created after its parent's `NOT VALID` check gets a valid copy, one created before a not-valid one, so it
 * follows the order of the build, and dbee compares a table's own constraints only (docs/diff-properties.md).
 */
async function normalized(conn: Connection, lines: string[], schema: string): Promise<string[]> {
  const inherited = new Set(
    (
      await conn.query<{ line: string }>(
        `select 'k|' || n.nspname || '.' || c.relname || '|' || k.conname || '|' as line from pg_constraint k
           join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = $1 and not k.conislocal`,
        [schema],
      )
    ).rows.map((r) => r.line),
  );
  const name = new RegExp(`(?<![\\w$])${schema}(?![\\w$])`, 'g');
  return lines.map((l) => {
    const onlyInherited = [...inherited].some((prefix) => l.startsWith(prefix));
    const line = onlyInherited ? l.replace(/ NOT VALID\|f(?=\||$)/, '|t') : l;
    return line.replace(name, 'S');
  });
}

/** Tables of `schema` that accept `INSERT ... DEFAULT VALUES` (tried in a transaction that is rolled back). */
async function acceptsDefaultRow(conn: Connection, spec: Spec): Promise<Set<string>> {
  const ok = new Set<string>();
  for (const t of spec.tables) {
    try {
      await conn.execute(`BEGIN; INSERT INTO ${spec.schema}.${t.name} DEFAULT VALUES; ROLLBACK`);
      ok.add(t.name);
    } catch {
      await conn.execute('ROLLBACK').catch(() => {});
    }
  }
  return ok;
}

/** Rows for the tables of A, so that sequence positions and casts meet data. */
async function seedRows(conn: Connection, spec: Spec): Promise<void> {
  for (const t of spec.tables) {
    for (let i = 0; i < 2; i++) {
      await conn.execute(`INSERT INTO ${spec.schema}.${t.name} DEFAULT VALUES`).catch(() => {});
    }
  }
  // Rows in each partition, so that a partitioning change meets data to copy.
  for (const k of spec.partitioned ? [0, 1, 100, 101] : [])
    await conn.execute(`INSERT INTO ${spec.schema}.${spec.partitioned!.name} (k) VALUES (${k})`).catch(() => {});
}

/**
 * Two scratch databases of one engine, reused for many pairs: each pair lives in its own schema, dropped after.
 */
export class PropertyBench {
  private constructor(
    readonly engine: EngineName,
    private readonly live: Scratch,
    private readonly desired: Scratch,
    private readonly urls: { live: string; desired: string } | null,
  ) {}

  static async open(engine: EngineName): Promise<PropertyBench> {
    // In memory: a few seconds more to start, but ~30 % less CPU for the thousands of statements of the pairs.
    const [live, desired] = await Promise.all([
      openScratch(engine, { memory: true }),
      openScratch(engine, { memory: true }),
    ]);
    await live.conn.execute(CREATE_ROLE);
    await desired.conn.execute(CREATE_ROLE);
    const urlOf = (s: Scratch) => {
      const u = new URL(SERVER_URL);
      u.pathname = '/' + s.conn.description.replace(/^postgres:/, '');
      return u.toString();
    };
    return new PropertyBench(
      engine,
      live,
      desired,
      engine === 'postgres' ? { live: urlOf(live), desired: urlOf(desired) } : null,
    );
  }

  async close(): Promise<void> {
    await Promise.all([this.live.dispose(), this.desired.dispose()]);
  }

  /**
   * Run one pair; a failure is returned, not thrown, with the stage it happened at. On the server the pg_dump
   * comparison is left to `dumpCheck`: the seed goes to `dumps` and its schemas stay until it ran (`run` does both).
   * With `full`, the pair also converges the other way (B to A, in schema `q<seed>r`), and A and B built from sources
   * by dbee's planner (desired state, schemas `q<seed>e` and `q<seed>d`) equal A and B built directly: the ones the
   * two converges built in the desired database (B in `q<seed>`, A in `q<seed>r`), kept for it, each schema of the pair
   * built once there.
   */
  private async pair(seed: number, dumps: number[], full: boolean): Promise<PairFailure | null> {
    const schema = `q${seed}`;
    const a = generateSpec(seed, schema, PROPERTY_ROLE);
    const b = mutateSpec(a, seed);
    if (!full) return this.converge(seed, a, b, dumps, '');
    const reverseA = generateSpec(seed, `${schema}r`, PROPERTY_ROLE);
    const reverseB = mutateSpec(reverseA, seed);
    const desired = this.desired.conn;
    try {
      // B built directly stays in the desired database (`q<seed>`) for the desired-state check below.
      const forward = await this.converge(seed, a, b, dumps, '', true, true);
      if (forward) return forward;
      // Without rows: the generator keeps B's changes compatible with A's rows, not A's constraints with B's rows (a
      // domain's CHECK that B dropped meets B's NULLs, and PostgreSQL rightly refuses it). A built directly stays in
      // the desired database (`q<seed>r`).
      const backward = await this.converge(seed, reverseB, reverseA, [], 'B to A: ', false, true);
      if (backward) return backward;
      // Desired state: the sources of B and of A planned by dbee and applied, against B and A built directly by the
      // converges above (the insert checks they ran there were rolled back, and the catalog prints no sequence's
      // position).
      let stage = 'desired state: build';
      try {
        // The generator's SQL names its schema everywhere (views, routine bodies): the same seed in other schemas.
        const inSchema = (name: string, mutated: boolean) => {
          const spec = generateSpec(seed, name, PROPERTY_ROLE);
          return mutated ? mutateSpec(spec, seed) : spec;
        };
        for (const [spec, than] of [
          [inSchema(`${schema}d`, true), b.schema],
          [inSchema(`${schema}e`, false), reverseA.schema],
        ] as const) {
          const from = spec.schema;
          stage = `desired state: build ${than === b.schema ? 'B' : 'A'} from sources`;
          await buildFromSources(desired, spec);
          stage = `desired state: ${than === b.schema ? 'B' : 'A'} from sources = built directly`;
          const x = await catalog(desired, from);
          const y = await catalog(desired, than);
          const [fromSources, direct] = [await normalized(desired, x, from), await normalized(desired, y, than)];
          const onlySources = fromSources.filter((l) => !direct.includes(l));
          const onlyDirect = direct.filter((l) => !fromSources.includes(l));
          if (onlySources.length || onlyDirect.length)
            return {
              seed,
              stage,
              message: `from sources has ${JSON.stringify(onlySources)}, built directly has ${JSON.stringify(onlyDirect)}`,
            };
        }
      } catch (e) {
        return { seed, stage, message: e instanceof Error ? e.message : String(e) };
      } finally {
        await desired.execute(`DROP SCHEMA IF EXISTS ${schema}d, ${schema}e CASCADE`).catch(() => {});
      }
      return null;
    } finally {
      // What the converges left in the desired database: A built directly, and B unless `dumpCheck` compares it still
      // (it drops it then).
      await this.dropSchemas(dumps.includes(seed) ? [reverseA.schema] : [reverseA.schema, schema], [this.desired]);
    }
  }

  /**
   * A (with rows unless `rows` is false) in the live database, B in the desired one, the diff from A to B applied to A: then the second diff
   * is empty, the catalogs are equal, and every table of B that accepts a default row does so after the deploy.
   * With `keepDesired`, B's schema stays in the desired database (the caller drops it).
   */
  private async converge(
    seed: number,
    a: Spec,
    b: Spec,
    dumps: number[],
    label: string,
    rows = true,
    keepDesired = false,
  ): Promise<PairFailure | null> {
    const schema = a.schema;
    const live = this.live.conn;
    const desired = this.desired.conn;
    let stage = 'build A';
    let keep = false;
    const fail = (message: string): PairFailure => ({ seed, stage: `${label}${stage}`, message });
    try {
      // The two databases are independent. On the server, A and B are built (and below introspected, printed,
      // dumped) at the same time, which overlaps the server's work with this process's; PGlite runs in this thread
      // anyway, so there one follows the other. The checks are the same either way.
      // On the server both are awaited before a failure of either is thrown: the clean-up below must not run beside
      // the other side's statements on the same session (they left it in an aborted transaction for the next pair).
      const both = async <X, Y>(x: () => Promise<X>, y: () => Promise<Y>): Promise<[X, Y]> => {
        if (this.engine !== 'postgres') return x().then(async (v): Promise<[X, Y]> => [v, await y()]);
        const [vx, vy] = await Promise.allSettled([x(), y()]);
        if (vx.status === 'rejected') throw vx.reason;
        if (vy.status === 'rejected') throw vy.reason;
        return [vx.value, vy.value];
      };
      const buildA = async () => {
        await live.execute(specSql(a));
        if (rows) await seedRows(live, a);
        return acceptsDefaultRow(live, a);
      };
      const buildB = async () => {
        try {
          await desired.execute(specSql(b));
        } catch (e) {
          stage = 'build B';
          throw e;
        }
      };
      const [before] = await both(buildA, buildB);
      stage = 'diff';
      const scope = { schemas: [schema] };
      const [from, to] = await both(
        () => introspect(live, scope),
        () => introspect(desired, scope),
      );
      const changes = diffModels(from, to);
      const steps = renderPlanSteps(changes, { from, to });
      stage = 'apply';
      await applySteps(live, steps);
      stage = 'second diff';
      const again = diffModels(await introspect(live, scope), to);
      if (again.length) return fail(`not empty: ${again.map((c) => c.kind).join(', ')}`);
      stage = 'catalog';
      const [x, y] = await both(
        () => catalog(live, schema),
        () => catalog(desired, schema),
      );
      const onlyLive = x.filter((l) => !y.includes(l));
      const onlyDesired = y.filter((l) => !x.includes(l));
      if (onlyLive.length || onlyDesired.length)
        return fail(`live has ${JSON.stringify(onlyLive)}, desired has ${JSON.stringify(onlyDesired)}`);
      if (this.urls && !label) {
        dumps.push(seed);
        keep = true;
      }
      stage = 'insert';
      const [wanted, after] = await both(
        () => acceptsDefaultRow(desired, b),
        () => acceptsDefaultRow(live, b),
      );
      const broken = b.tables.filter(
        (t) =>
          wanted.has(t.name) && (before.has(t.name) || !a.tables.some((x) => x.name === t.name)) && !after.has(t.name),
      );
      if (broken.length)
        return fail(`INSERT DEFAULT VALUES fails after the deploy on ${broken.map((t) => t.name).join(', ')}`);
      return null;
    } catch (e) {
      return fail(e instanceof Error ? e.message : String(e));
    } finally {
      // Kept for `dumpCheck`, which drops them; B's for the caller with `keepDesired`.
      if (!keep) await this.dropSchemas([schema], keepDesired ? [this.live] : undefined);
    }
  }

  private async dropSchemas(schemas: string[], from: Scratch[] = [this.live, this.desired]): Promise<void> {
    const sql = `DROP SCHEMA IF EXISTS ${schemas.join(', ')} CASCADE`;
    for (const db of from) await db.conn.execute(sql).catch(() => {});
  }

  /**
   * `pg_dump -s` of the seeds' schemas in both databases, compared, then the schemas dropped. One pg_dump per database
   * for all of them (each pg_dump process costs ~0.1 s, and a fork of this large process): pg_dump orders its output
   * by object type and name, so the dumps of several schemas are equal exactly when each schema's are. When they
   * differ, each schema is dumped alone to name the pairs that differ.
   */
  async dumpCheck(seeds: number[]): Promise<PairFailure[]> {
    if (!this.urls || !seeds.length) return [];
    const { live, desired } = this.urls;
    const schemas = seeds.map((seed) => `q${seed}`);
    try {
      const [dl, dd] = await Promise.all([pgDump(live, schemas), pgDump(desired, schemas)]);
      if (dl === dd) return [];
      const failures: PairFailure[] = [];
      for (const seed of seeds) {
        const [l, d] = await Promise.all([pgDump(live, [`q${seed}`]), pgDump(desired, [`q${seed}`])]);
        if (l !== d) failures.push({ seed, stage: 'pg_dump', message: firstDifference(l, d) });
      }
      return failures.length
        ? failures
        : [
            {
              seed: seeds[0]!,
              stage: 'pg_dump',
              message: `the dumps of ${schemas.join(', ')} differ, each schema's alone do not: ${firstDifference(dl, dd)}`,
            },
          ];
    } catch (e) {
      return [
        {
          seed: seeds[0]!,
          stage: 'pg_dump',
          message: `${schemas.join(', ')}: ${e instanceof Error ? e.message : String(e)}`,
        },
      ];
    } finally {
      await this.dropSchemas(schemas);
    }
  }

  /**
   * Run the pairs of `seeds`. `full`: each pair also both ways and through desired state (see `pair`), about three
   * times the work of one direction.
   */
  async run(seeds: Iterable<number>, options: { full?: boolean } = {}): Promise<PairRun> {
    const failures: PairFailure[] = [];
    let pairs = 0;
    const dumps: number[] = [];
    for (const seed of seeds) {
      pairs++;
      const f = await this.pair(seed, dumps, options.full ?? false);
      if (f) failures.push(f);
      if (dumps.length >= DUMP_BATCH) failures.push(...(await this.dumpCheck(dumps.splice(0))));
    }
    failures.push(...(await this.dumpCheck(dumps.splice(0))));
    return { pairs, failures };
  }
}

function firstDifference(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++)
    if (x[i] !== y[i]) return `line ${i + 1}: live ${JSON.stringify(x[i])} / desired ${JSON.stringify(y[i])}`;
  return 'dumps differ';
}

/** `count` seeds from `start`. */
export function seedRange(start: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start + i);
}
