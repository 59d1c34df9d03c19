import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Client } from 'pg';
import { envWorkspace } from '../env-management/helpers';
import { chooseEdits, inventory } from './edits';

/**
 * Edit fuzzing over the real corpus (issue 88, deliverable 3; test/fixtures/real): a schema loaded by psql into
 * database A as published, extracted by dbee and deployed to database B. Each round, edits of the catalogue
 * (edits.ts) chosen by a seed are typed into A by hand (each in a transaction of its own; one PostgreSQL refuses is
 * passed over); dbee then carries them to B: `extract` from A (the project's files written whole again), a dry run on
 * B, the deployment (`--prune`). The oracle: the dry run's steps are the deployment's, `pg_dump -s` of A and B differ
 * in no line but those they differed in before any edit (what dbee does not model yet, per schema), and `dbee diff`
 * says of A and B what it said before any edit ("no differences" where dbee carries the schema whole).
 */
export interface RealSchema {
  name: string;
  /** The corpus file psql loads (test/fixtures/real/...). */
  file: string;
  schemas: string;
  /** `ALTER DATABASE ... SET` the application's install script makes (its views read them). */
  settings?: Record<string, string>;
  /** What extract cannot write (it exits 1 naming `lines`), and the file written by hand for it. */
  unwritten?: { lines: string[]; file: string; text: string; rollback?: string };
}

const FIXTURES = join(__dirname, '..', 'fixtures', 'real');

/** The corpus schemas the fuzzer runs on: those of test/real-schemas that load without anything of their own. */
export const REAL_SEEDS: RealSchema[] = [
  {
    name: 'postgrest-rls',
    file: 'postgrest-rls/schema.sql',
    schemas: 'public,data,api',
    settings: { 'postgrest.claims.user_id': '', 'postgrest.claims.company_id': '' },
  },
  { name: 'adventureworks', file: 'adventureworks/install.sql', schemas: 'public,person,humanresources,pe,hr' },
  { name: 'openstreetmap', file: 'openstreetmap/structure.sql', schemas: 'public' },
  { name: 'safecast', file: 'safecast/structure.sql', schemas: 'public' },
  { name: 'musicbrainz', file: 'musicbrainz/schema.sql', schemas: 'musicbrainz,public' },
  { name: 'evaka', file: 'evaka/schema.sql', schemas: 'public' },
  {
    name: 'danbooru',
    file: 'danbooru/structure.sql',
    schemas: 'public',
    unwritten: {
      lines: ['operator ~<<(text,text)'],
      file: 'migrations/V1__reverse_textregexeq_operator.sql',
      text: 'CREATE OPERATOR public.~<< (\n    FUNCTION = public.reverse_textregexeq,\n    LEFTARG = text,\n    RIGHTARG = text\n);\n',
      rollback: 'DROP OPERATOR public.~<< (text, text);\n',
    },
  },
];

/** One round's outcome: the edits made by hand, those PostgreSQL refused (passed over), and the failure if any. */
export interface RoundResult {
  schema: string;
  seed: number;
  edits: { kind: string; sql: string }[];
  skipped: { kind: string; error: string }[];
  failure: { stage: string; message: string } | null;
}

/** `pg_dump -s` of a database without dbee's ledger schema, its `\restrict` lines (random per run) left out. */
function schemaDump(url: string): string[] {
  return execFileSync('pg_dump', ['-s', '--exclude-schema=dbee', url], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\n')
    .filter((l) => l !== '' && !/^\\(un)?restrict /.test(l));
}

/** The lines only A has and only B has (sorted), as one text to compare. */
function dumpDifference(a: string[], b: string[]): string {
  const sa = new Set(a);
  const sb = new Set(b);
  return `only A:\n${a
    .filter((l) => !sb.has(l))
    .sort()
    .join('\n')}\nonly B:\n${b
    .filter((l) => !sa.has(l))
    .sort()
    .join('\n')}`;
}

export class RealEditBench {
  /**
   * What the deployment of a second extract plans when nothing was edited (`key action` lines): nothing, once extract
   * writes what it read the first time (docs/diff-properties.md lists what it plans today).
   */
  readonly settled: string[] = [];
  /** What `dbee diff` said of A and B before any edit: "no differences", or what dbee does not carry yet. */
  diffBaseline: string[] = [];

  private constructor(
    readonly real: RealSchema,
    private readonly w: ReturnType<typeof envWorkspace>,
    private baseline: string,
  ) {}

  private static url(w: ReturnType<typeof envWorkspace>, n: 1 | 2): string {
    return String(w.vars[n === 1 ? 'EM_SERVER_URL' : 'EM_SERVER2_URL']);
  }

  /** A loaded by psql, extracted, deployed to B: the differences of their dumps then are the baseline. */
  static async open(real: RealSchema): Promise<RealEditBench> {
    const w = envWorkspace('postgres', {}, { extra: 'shadow: server\n' });
    await w.setup();
    try {
      for (const [name, value] of Object.entries(real.settings ?? {}))
        for (const n of [1, 2] as const)
          await w.exec(
            n,
            `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET %s TO %L', current_database(), '${name}', '${value}'); END $$`,
          );
      execFileSync(
        'psql',
        ['-q', '-v', 'ON_ERROR_STOP=1', '-d', RealEditBench.url(w, 1), '-f', join(FIXTURES, real.file)],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      const bench = new RealEditBench(real, w, '');
      const failure =
        (await bench.extract()) ??
        (await bench.deploy('deploy')) ??
        // Extracted again with its db.yaml there, and deployed: what that plans with no edit is `settled`.
        (await bench.extract()) ??
        (await bench.deploy('deploy', bench.settled));
      if (failure)
        throw new Error(`${real.name}: the unedited schema does not deploy: ${failure.stage}: ${failure.message}`);
      bench.baseline = bench.dumps();
      bench.diffBaseline = await bench.diffs();
      return bench;
    } catch (e) {
      await w.teardown();
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.w.teardown();
  }

  /** What `dbee diff` says of A and of B (its first line, which names the databases, left out). */
  private async diffs(): Promise<string[]> {
    const out: string[] = [];
    for (const n of [1, 2] as const) {
      const diff = await this.w.dbee('diff', { project: this.real.name, env: this.w.env(n) });
      out.push((diff.stdout + diff.stderr).split('\n').slice(1).join('\n'));
    }
    return out;
  }

  private dumps(): string {
    return dumpDifference(schemaDump(RealEditBench.url(this.w, 1)), schemaDump(RealEditBench.url(this.w, 2)));
  }

  /** `dbee extract` from A into the project's sources (files of dropped objects deleted). */
  private async extract(): Promise<RoundResult['failure']> {
    const { real, w } = this;
    // Written whole again: A has no ledger, so extract cannot tell what was dropped there since (--delete-dropped
    // deletes files of objects dbee deployed); the files of objects dropped by hand go with the folder.
    rmSync(join(w.root, real.name, 'schema'), { recursive: true, force: true });
    const x = await w.dbee('extract', {
      project: real.name,
      env: w.env(1),
      schemas: real.schemas,
    });
    const unwritten = real.unwritten;
    if (unwritten) {
      const named = [...x.stderr.matchAll(/^ {2}(\S.*)$/gm)].map((m) => m[1]).filter((l) => !l.startsWith('hint:'));
      if (x.code !== 1 || named.join('\n') !== unwritten.lines.join('\n'))
        return { stage: 'extract', message: x.stderr.slice(0, 2000) };
      const file = join(w.root, real.name, unwritten.file);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, unwritten.text);
      if (unwritten.rollback !== undefined) writeFileSync(file.replace(/\.sql$/, '.rollback.sql'), unwritten.rollback);
      return null;
    }
    return x.code === 0 ? null : { stage: 'extract', message: x.stderr.slice(0, 2000) };
  }

  /** A deployment to B (`dry run` or `deploy`), its report's steps as `key action` lines. */
  private async deploy(stage: 'dry run' | 'deploy', steps?: string[]): Promise<RoundResult['failure']> {
    const { real, w } = this;
    const report = join(w.root, `${stage.replace(' ', '-')}.json`);
    // --prune: an object dropped by hand on A is dropped on B; a column dropped by hand too (its data-loss hazard
    // accepted: the edit lost the data on A).
    const d = await w.dbee('deploy', {
      project: real.name,
      env: w.env(2),
      report,
      prune: true,
      allowHazards: ['data-loss'],
      dryRun: stage === 'dry run',
    });
    if (d.code !== 0) return { stage, message: `exit ${d.code}: ${d.stderr.slice(0, 2000)}` };
    const parsed = JSON.parse(readFileSync(report, 'utf8')) as { steps: { key: string; action: string }[] };
    steps?.push(...parsed.steps.map((s) => `${s.key} ${s.action}`));
    return null;
  }

  /** Each edit typed into A in a transaction of its own; one PostgreSQL refuses is rolled back and passed over. */
  private async byHand(edits: { kind: string; sql: string }[]): Promise<RoundResult['skipped']> {
    const client = new Client({ connectionString: RealEditBench.url(this.w, 1) });
    await client.connect();
    const skipped: RoundResult['skipped'] = [];
    try {
      for (const e of edits) {
        try {
          await client.query(`BEGIN; ${e.sql}; COMMIT`);
        } catch (err) {
          await client.query('ROLLBACK');
          skipped.push({ kind: e.kind, error: (err as Error).message });
        }
      }
    } finally {
      await client.end();
    }
    return skipped;
  }

  /** One round: `count` edits chosen by `seed`, by hand on A, carried to B by dbee, then the oracle. */
  async round(seed: number, count: number): Promise<RoundResult> {
    const { real, w } = this;
    const client = new Client({ connectionString: RealEditBench.url(w, 1) });
    await client.connect();
    const inv = await inventory(client, real.schemas.split(',')).finally(() => client.end());
    const chosen = chooseEdits(inv, seed, count);
    const skipped = await this.byHand(chosen);
    const edits = chosen.filter((e) => !skipped.some((s) => s.kind === e.kind));
    const out = { schema: real.name, seed, edits, skipped };
    const dry: string[] = [];
    const real2: string[] = [];
    const failure =
      (await this.extract()) ?? (await this.deploy('dry run', dry)) ?? (await this.deploy('deploy', real2));
    if (failure) return { ...out, failure };
    if (dry.join('\n') !== real2.join('\n'))
      return {
        ...out,
        failure: { stage: 'dry run = deploy', message: `dry run:\n${dry.join('\n')}\ndeploy:\n${real2.join('\n')}` },
      };
    const dumps = this.dumps();
    if (dumps !== this.baseline) return { ...out, failure: { stage: 'pg_dump', message: dumps.slice(0, 4000) } };
    const diffs = await this.diffs();
    for (const n of [0, 1])
      if (diffs[n] !== this.diffBaseline[n])
        return { ...out, failure: { stage: `diff ${n === 0 ? 'A' : 'B'}`, message: diffs[n]!.slice(0, 3000) } };
    return { ...out, failure: null };
  }
}
