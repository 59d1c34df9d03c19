import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envWorkspace } from '../env-management/helpers';

const FIXTURES = join(__dirname, '..', 'fixtures', 'real');

/** A schema of the corpus (test/fixtures/real/README.md) and the edits made to it twice: by dbee, and by hand. */
interface RealSchema {
  name: string;
  file: string;
  schemas: string;
  /** Edits to the extracted sources: file (relative to the project) → replace `from` with `to`. */
  edits: { file: string; from: string; to: string }[];
  /** The same edits as a person would type them into psql. */
  byHand: string;
  /**
   * Objects extract cannot write as files yet (it exits 1 naming them, the rest written), and the migration the user
   * then writes by hand, copied from the original: path (relative to the project) and text.
   */
  unwritten?: { lines: string[]; file: string; text: string; rollback: string };
  /**
   * Lines of psql's `pg_dump -s` that dbee's deployment does not give back, and lines it gives instead: what dbee does
   * not model yet, asserted exactly so that a fix (or a new difference) fails the test.
   */
  known?: { onlyOriginal: string[]; onlyDeployed: string[] };
}

const CORPUS: RealSchema[] = [
  {
    // Rails, pg_trgm and four more extensions in public, SQL functions used by GIN indexes, 140 tables.
    name: 'danbooru',
    file: 'danbooru/structure.sql',
    schemas: 'public',
    edits: [
      {
        file: 'schema/public/tables/pools.sql',
        from: '  category character varying DEFAULT',
        to: '  archived_at timestamp without time zone,\n  category character varying DEFAULT',
      },
      {
        file: 'schema/public/tables/pools.sql',
        from: 'CREATE INDEX index_pools_on_name_trgm',
        to: 'CREATE INDEX index_pools_on_archived_at ON public.pools USING btree (archived_at) WHERE (archived_at IS NOT NULL);\n\nCREATE INDEX index_pools_on_name_trgm',
      },
    ],
    byHand: `ALTER TABLE public.pools ADD COLUMN archived_at timestamp without time zone;
      CREATE INDEX index_pools_on_archived_at ON public.pools USING btree (archived_at) WHERE (archived_at IS NOT NULL);`,
    // Operators are not an object kind of dbee yet (issue 72 leaves them out): a versioned migration makes it.
    unwritten: {
      lines: ['operator ~<<(text,text)'],
      file: 'migrations/V1__reverse_textregexeq_operator.sql',
      text: 'CREATE OPERATOR public.~<< (\n    FUNCTION = public.reverse_textregexeq,\n    LEFTARG = text,\n    RIGHTARG = text\n);\n',
      rollback: 'DROP OPERATOR public.~<< (text, text);\n',
    },
    // Not modelled yet (found by this corpus, not among issue 72's points): per-column statistics targets of tables
    // and indexes, and the persistence of a serial's sequence on an UNLOGGED table (made unlogged with it by a
    // CREATE TABLE ... serial; pg_dump makes it logged). Neither extract nor diff sees them.
    known: {
      onlyOriginal: [
        'ALTER INDEX public.index_posts_on_string_to_array_tag_string ALTER COLUMN 1 SET STATISTICS 3000;',
        'ALTER TABLE ONLY public.good_jobs ALTER COLUMN finished_at SET STATISTICS 1000;',
        'CREATE SEQUENCE public.rate_limits_id_seq',
      ],
      onlyDeployed: ['CREATE UNLOGGED SEQUENCE public.rate_limits_id_seq'],
    },
  },
  {
    // Rails and PostGIS installed in a schema of its own (geography columns in public).
    name: 'safecast',
    file: 'safecast/structure.sql',
    schemas: 'public',
    edits: [
      {
        file: 'schema/public/tables/devices.sql',
        from: '  manufacturer character varying(255),',
        to: '  manufacturer character varying(255),\n  retired boolean DEFAULT false NOT NULL,',
      },
    ],
    byHand: 'ALTER TABLE public.devices ADD COLUMN retired boolean DEFAULT false NOT NULL;',
  },
];

/** `pg_dump -s` of a database without dbee's ledger schema, its `\restrict` lines (random per run) left out. */
function schemaDump(url: string): string {
  return execFileSync('pg_dump', ['-s', '--exclude-schema=dbee', url], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\n')
    .filter((l) => !/^\\(un)?restrict /.test(l))
    .join('\n');
}

/** `pg_dump -s` of the deployment equals psql's load of the original, but for the `known` lines. */
function expectSameDump(real: RealSchema, original: string, deployed: string): void {
  const known = real.known ?? { onlyOriginal: [], onlyDeployed: [] };
  const a = original.split('\n');
  const b = deployed.split('\n');
  const missing = a.filter((l) => !b.includes(l) && l !== '').sort();
  const extra = b.filter((l) => !a.includes(l) && l !== '').sort();
  expect({ missing, extra }).toEqual({ missing: known.onlyOriginal, extra: known.onlyDeployed });
  if (!real.known) expect(deployed).toBe(original);
}

/**
 * Issue #72 deliverable 8: public schemas of real applications that nobody on the project wrote, each loaded by psql
 * as published, then extracted by dbee, deployed to an empty database, compared with `pg_dump -s`, diffed both ways,
 * and edited: the edits deployed by dbee give what psql gives by hand. On the server (the extensions they use are
 * not in PGlite; PostGIS comes from Debian's package).
 */
describe.each(CORPUS.map((s) => [s.name, s] as const))('a real schema round-trips: %s [postgres]', (name, real) => {
  const w = envWorkspace('postgres', {}, { extra: 'shadow: server\n' });
  const url = (n: 1 | 2) => String(w.vars[n === 1 ? 'EM_SERVER_URL' : 'EM_SERVER2_URL']);
  beforeAll(async () => {
    await w.setup();
    execFileSync('psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-d', url(1), '-f', join(FIXTURES, real.file)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  }, 120_000);
  afterAll(() => w.teardown());

  it('extract, deploy to an empty database: the same pg_dump -s, no differences either way', async () => {
    const x = await w.dbee('extract', { project: name, env: w.env(1), schemas: real.schemas });
    if (real.unwritten) {
      expect(x.code).toBe(1);
      expect(x.stderr).toContain('dbee extract cannot write');
      expect([...x.stderr.matchAll(/^ {2}(\S.*)$/gm)].map((m) => m[1]).filter((l) => !l.startsWith('hint:'))).toEqual(
        real.unwritten.lines,
      );
      mkdirSync(dirname(join(w.root, name, real.unwritten.file)), { recursive: true });
      writeFileSync(join(w.root, name, real.unwritten.file), real.unwritten.text);
      writeFileSync(
        join(w.root, name, real.unwritten.file.replace(/\.sql$/, '.rollback.sql')),
        real.unwritten.rollback,
      );
    } else {
      expect(x.stderr).toBe('');
      expect(x.code).toBe(0);
    }
    const d = await w.dbee('deploy', { project: name, env: w.env(2) });
    expect(d.stderr).toBe('');
    expect(d.code).toBe(0);
    expectSameDump(real, schemaDump(url(1)), schemaDump(url(2)));
    for (const n of [1, 2] as const) {
      const diff = await w.dbee('diff', { project: name, env: w.env(n) });
      expect(diff.stderr).toBe('');
      expect(diff.stdout).toContain('no differences');
    }
  }, 600_000);

  it('edits deployed by dbee give what psql gives by hand', async () => {
    for (const e of real.edits) {
      const file = join(w.root, name, e.file);
      const text = readFileSync(file, 'utf8');
      expect(text).toContain(e.from);
      writeFileSync(file, text.replace(e.from, e.to));
    }
    const d = await w.dbee('deploy', { project: name, env: w.env(2) });
    expect(d.stderr).toBe('');
    expect(d.code).toBe(0);
    await w.exec(1, real.byHand);
    expectSameDump(real, schemaDump(url(1)), schemaDump(url(2)));
    const diff = await w.dbee('diff', { project: name, env: w.env(1) });
    expect(diff.stdout).toContain('no differences');
  }, 600_000);
});
