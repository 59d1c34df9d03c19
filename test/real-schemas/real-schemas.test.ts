import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envWorkspace } from '../env-management/helpers';
import { buildManifest, type ModelSpec } from '../dbt/manifest-builder';
import { logRequests, tableReads } from '../support/request-log';

const FIXTURES = join(__dirname, '..', 'fixtures', 'real');

/** A schema of the corpus (test/fixtures/real/README.md) and the edits made to it twice: by dbee, and by hand. */
interface RealSchema {
  name: string;
  file: string;
  schemas: string;
  /** Edits to the extracted sources: file (relative to the project) → replace `from` with `to`. */
  edits: Edit[];
  /** The same edits as a person would type them into psql. */
  byHand: string;
  /**
   * Objects extract cannot write as files yet (it exits 1 naming them, the rest written), and the file the user then
   * writes by hand, copied from the original: path (relative to the project) and text; a migration (its `rollback`
   * script beside it), or an object file of a kind the sources deploy though extract does not write it (an aggregate).
   */
  unwritten?: { lines: string[]; file: string; text: string; rollback?: string };
  /**
   * Lines of psql's `pg_dump -s` that dbee's deployment does not give back, and lines it gives instead: what dbee does
   * not model yet, asserted exactly so that a fix (or a new difference) fails the test.
   */
  known?: { onlyOriginal: string[]; onlyDeployed: string[] };
  /**
   * A dbt check and a rollback test of releases of the edited schema (issue 72 deliverable 1: projects in `public`):
   * dbt models over its tables (sources named `<schema>.<table>`), an edit that keeps them working, which the rollback
   * test passes, then one that removes a column `broken` reads.
   */
  checks?: { models: ModelSpec[]; compatible: Edit; breaking: Edit; broken: string };
  /**
   * Extracted with fewer schemas than it uses (a team starting with its application's schema alone): the objects
   * outside them that extract names, since a deployment to a new database fails without them (issue 72, left last).
   */
  alone?: { schemas: string; outside: string[] };
  /**
   * Why the deployment of the edits reads the live tables whole, when it does (else it reads those the edits touch):
   * a changed object of a kind every read holds whole (an extension, a collation, a text search object) narrows
   * nothing (packages/core/src/diffing/narrow.ts).
   */
  readWhole?: string;
  /**
   * Settings the application's database carries (`ALTER DATABASE ... SET`, made by its install script beside the
   * schema): set on both databases before anything runs, since its views call functions that read them.
   */
  settings?: Record<string, string>;
}

/** Replace `from` with `to` in a file of the project. */
interface Edit {
  file: string;
  from: string;
  to: string;
}

/** Apply `e` to the project `name` of `root` (its `from` must be there). */
function edit(root: string, name: string, e: Edit): void {
  const file = join(root, name, e.file);
  const text = readFileSync(file, 'utf8');
  expect(text).toContain(e.from);
  writeFileSync(file, text.replace(e.from, e.to));
}

/** The statement of a corpus file that starts with `start`, to its `$$;` (a function as published). */
function sqlOf(file: string, start: string): string {
  const text = readFileSync(join(FIXTURES, file), 'utf8');
  const from = text.indexOf(start);
  return text.slice(from, text.indexOf('$$;', from) + 3);
}

/** `text` with each `[from, to]` replaced once (each must be there). */
function replaced(text: string, pairs: [string, string][]): string {
  for (const [from, to] of pairs) {
    if (!text.includes(from)) throw new Error(`not in the text: ${from}`);
    text = text.replace(from, to);
  }
  return text;
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
    // Not modelled yet (found by this corpus, not among issue 72's points): per-column statistics targets of indexes
    // (a table column's target is modelled: docs/diffs.md), and the persistence of a serial's sequence on an UNLOGGED table (made unlogged with it by a
    // CREATE TABLE ... serial; pg_dump makes it logged). Neither extract nor diff sees them.
    known: {
      onlyOriginal: [
        'ALTER INDEX public.index_posts_on_string_to_array_tag_string ALTER COLUMN 1 SET STATISTICS 3000;',
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
  {
    // Rails and PostGIS installed in public (its table and views there are the extension's), btree_gist, enums.
    name: 'openstreetmap',
    file: 'openstreetmap/structure.sql',
    schemas: 'public',
    edits: [
      { file: 'schema/public/types/note_status_enum.sql', from: "'hidden');", to: "'hidden', 'archived');" },
      {
        file: 'schema/public/tables/moderation_zones.sql',
        from: 'CREATE INDEX index_moderation_zones_on_revoker_id',
        to: 'CREATE INDEX index_moderation_zones_on_zone ON public.moderation_zones USING gist (zone);\n\nCREATE INDEX index_moderation_zones_on_revoker_id',
      },
      {
        file: 'schema/public/tables/user_blocks.sql',
        from: '  CONSTRAINT user_blocks_pkey PRIMARY KEY (id)',
        to: '  CONSTRAINT user_blocks_pkey PRIMARY KEY (id),\n  CONSTRAINT user_blocks_no_overlap EXCLUDE USING gist (user_id WITH =, tsrange(created_at, ends_at) WITH &&)',
      },
      {
        file: 'schema/public/functions/api_size_limit.sql',
        from: 'min_size_limit int8 := 10000000;',
        to: 'min_size_limit int8 := 20000000;',
      },
    ],
    checks: {
      models: [
        {
          name: 'note_counts',
          compiled: 'select user_id, count(*) as n from public.notes group by 1',
          sources: ['public.notes'],
        },
        {
          name: 'open_notes',
          compiled: "select id, latitude, longitude from public.notes where status = 'open'",
          sources: ['public.notes'],
        },
        { name: 'user_names', compiled: 'select id, display_name from public.users', sources: ['public.users'] },
      ],
      compatible: {
        file: 'schema/public/tables/notes.sql',
        from: '  closed_at timestamp without time zone,\n',
        to: '  closed_at timestamp without time zone,\n  hidden_at timestamp without time zone,\n',
      },
      breaking: { file: 'schema/public/tables/notes.sql', from: '  latitude integer NOT NULL,\n', to: '' },
      broken: 'open_notes',
    },
    byHand: `ALTER TYPE public.note_status_enum ADD VALUE 'archived';
      CREATE INDEX index_moderation_zones_on_zone ON public.moderation_zones USING gist (zone);
      ALTER TABLE public.user_blocks
        ADD CONSTRAINT user_blocks_no_overlap EXCLUDE USING gist (user_id WITH =, tsrange(created_at, ends_at) WITH &&);
      ${replaced(sqlOf('openstreetmap/structure.sql', 'CREATE FUNCTION public.api_size_limit'), [
        ['CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION'],
        ['min_size_limit int8 := 10000000;', 'min_size_limit int8 := 20000000;'],
      ])}`,
  },
  {
    // MusicBrainz's own SQL files (not a dump): an ICU collation, a text search configuration with unaccent, cube,
    // earthdistance and unaccent in public with a C function of the application there, trigger functions, triggers.
    name: 'musicbrainz',
    file: 'musicbrainz/schema.sql',
    schemas: 'musicbrainz,public',
    // The extensions in public are written as files of their own; the application's C function there is not.
    alone: {
      schemas: 'musicbrainz',
      outside: [
        'function public.immutable_unaccent(regdictionary,text) (used by function musicbrainz.musicbrainz_unaccent)',
      ],
    },
    // Its aggregate `median(integer)` is written by extract (before: exit 1, the file written by hand).
    readWhole: 'the edits change the text search configuration mb_simple',
    edits: [
      {
        file: 'schema/musicbrainz/text-search/mb_simple.sql',
        from: 'version, hword_asciipart, asciihword, url_path',
        to: 'version, url_path',
      },
      {
        file: 'schema/musicbrainz/text-search/mb_simple.sql',
        from: 'numhword, hword WITH public.unaccent',
        to: 'numhword, hword, hword_asciipart, asciihword WITH public.unaccent',
      },
      {
        file: 'schema/musicbrainz/tables/work.sql',
        from: '  name character varying NOT NULL,\n',
        to: '  name character varying NOT NULL,\n  sort_name character varying COLLATE musicbrainz.musicbrainz,\n',
      },
      {
        file: 'schema/musicbrainz/tables/work.sql',
        from: 'CREATE TRIGGER a_ins_work',
        to: 'CREATE INDEX work_idx_txt_sort ON musicbrainz.work USING gin (musicbrainz.mb_simple_tsvector((sort_name)::text));\n\nCREATE TRIGGER a_ins_work',
      },
      {
        file: 'schema/musicbrainz/functions/b_upd_last_updated_table.sql',
        from: 'NEW.last_updated = NOW();',
        to: 'NEW.last_updated = clock_timestamp();',
      },
    ],
    byHand: `ALTER TEXT SEARCH CONFIGURATION musicbrainz.mb_simple
        ALTER MAPPING FOR asciihword, hword_asciipart WITH public.unaccent, simple;
      ALTER TABLE musicbrainz.work ADD COLUMN sort_name varchar COLLATE musicbrainz.musicbrainz;
      CREATE INDEX work_idx_txt_sort ON musicbrainz.work USING gin (musicbrainz.mb_simple_tsvector(sort_name));
      CREATE OR REPLACE FUNCTION musicbrainz.b_upd_last_updated_table() RETURNS trigger AS $$
BEGIN
    NEW.last_updated = clock_timestamp();
    RETURN NEW;
END;
$$ LANGUAGE 'plpgsql';`,
  },
  {
    // AdventureWorks for Postgres, its Person and HumanResources schemas: domains in public, a materialized view with
    // an index, the short-name view schemas pe and hr over them (cross-schema views), CLUSTER ON on every table.
    name: 'adventureworks',
    file: 'adventureworks/install.sql',
    schemas: 'public,person,humanresources,pe,hr',
    edits: [
      {
        file: 'schema/person/materialized-views/vstateprovincecountryregion.sql',
        from: 'USING btree (stateprovinceid, countryregioncode);',
        to: 'USING btree (stateprovinceid, countryregioncode);\n\nCREATE INDEX ix_vstateprovincecountryregion_name ON person.vstateprovincecountryregion USING btree (stateprovincename);',
      },
      {
        file: 'schema/person/tables/phonenumbertype.sql',
        from: '  name public."Name" NOT NULL,\n',
        to: '  name public."Name" NOT NULL,\n  note text,\n',
      },
    ],
    byHand: `CREATE INDEX ix_vstateprovincecountryregion_name ON person.vstateprovincecountryregion USING btree (stateprovincename);
      ALTER TABLE person.phonenumbertype ADD COLUMN note text;`,
    // CLUSTER ON of the materialized view is modelled now, as the tables' 19 were (it was the one line the deployment
    // lacked).
    known: { onlyOriginal: [], onlyDeployed: [] },
  },
  {
    // PostgREST's row-level security example: tables in data with 14 policies, views in api over them (cross-schema,
    // WITH LOCAL CHECK OPTION) calling SQL functions of public, grants to two roles, column grants, an enum.
    name: 'postgrest-rls',
    file: 'postgrest-rls/schema.sql',
    schemas: 'public,data,api',
    settings: { 'postgrest.claims.user_id': '', 'postgrest.claims.company_id': '' },
    edits: [
      {
        file: 'schema/data/tables/tasks.sql',
        from: '  company_id integer DEFAULT public.app_company_id(),\n',
        to: '  company_id integer DEFAULT public.app_company_id(),\n  due_on date,\n',
      },
      {
        file: 'schema/data/tables/tasks.sql',
        from: 'CREATE POLICY employee_policy ON data.tasks AS PERMISSIVE FOR ALL TO employee USING (true);',
        to: 'CREATE POLICY employee_policy ON data.tasks AS PERMISSIVE FOR ALL TO employee USING ((company_id = public.app_company_id()));',
      },
    ],
    byHand: `ALTER TABLE data.tasks ADD COLUMN due_on date;
      ALTER POLICY employee_policy ON data.tasks USING (company_id = public.app_company_id());`,
    // A view's column privileges (GRANT SELECT (id, name) ON api.clients) round-trip: this corpus found them missing
    // while the differ took a grant on a view's column for one on a column that is gone (it knew a table's columns
    // only), so extract wrote none and diff compared none. The dumps are now equal, byte for byte.
  },
  {
    // Evergreen ILS's own SQL files (not a dump), reduced to 15 tables of actor, config and permission: foreign-key
    // cycles (actor.usr <-> actor.usr_address, actor.org_unit <-> actor.org_address, self-references), all deferrable,
    // three tables without a primary key (actor.patron_loader_log, config.patron_loader_header_map and _value_map).
    name: 'evergreen',
    file: 'evergreen/schema.sql',
    schemas: 'public,evergreen,config,actor,permission',
    edits: [
      {
        file: 'schema/actor/tables/patron_loader_log.sql',
        from: '  event text,\n',
        to: '  event text,\n  note text,\n',
      },
    ],
    byHand: 'ALTER TABLE actor.patron_loader_log ADD COLUMN note text;',
  },
  {
    // eVaka's Flyway baseline (a pg_dump): 15 exclusion constraints as published, most over a daterange with
    // btree_gist's `=` on a uuid (btree_gist and uuid-ossp in a schema of their own, ext), partial ones, two
    // DEFERRABLE with `<>` on a date. The edits change exclusion constraints (a WHERE predicate added, a range's bounds
    // and an operator changed, deferrability dropped, a new one over text: btree_gist again) and disable a trigger.
    name: 'evaka',
    file: 'evaka/schema.sql',
    schemas: 'public',
    edits: [
      {
        file: 'schema/public/tables/placement.sql',
        from: `CONSTRAINT exclude$placement_no_overlap EXCLUDE USING gist (child_id WITH =, daterange(start_date, end_date, '[]'::text) WITH &&)`,
        to: `CONSTRAINT exclude$placement_no_overlap EXCLUDE USING gist (child_id WITH =, daterange(start_date, end_date, '[]'::text) WITH &&) WHERE ((type <> 'CLUB'::public.placement_type))`,
      },
      {
        file: 'schema/public/tables/daycare_caretaker.sql',
        from: `daycare_caretaker_no_overlap EXCLUDE USING gist (group_id WITH =, daterange(start_date, end_date, '[]'::text) WITH &&)`,
        to: `daycare_caretaker_no_overlap EXCLUDE USING gist (group_id WITH =, daterange(start_date, end_date, '[)'::text) WITH &&)`,
      },
      {
        file: 'schema/public/tables/fridge_partner.sql',
        from: 'partnership_end_date_matches EXCLUDE USING gist (partnership_id WITH =, end_date WITH <>) DEFERRABLE INITIALLY DEFERRED',
        to: 'partnership_end_date_matches EXCLUDE USING gist (partnership_id WITH =, end_date WITH <>)',
      },
      {
        file: 'schema/public/tables/fridge_partner.sql',
        from: 'partnership_start_date_matches EXCLUDE USING gist (partnership_id WITH =, start_date WITH <>)',
        to: 'partnership_start_date_matches EXCLUDE USING gist (partnership_id WITH =, start_date WITH =)',
      },
      {
        // A disabled trigger, as extract writes one: its ALTER TABLE after its CREATE TRIGGER (the shadow build ran it
        // with the table, before the trigger existed, and refused the sources).
        file: 'schema/public/tables/placement.sql',
        from: 'FOR EACH ROW EXECUTE FUNCTION public.trigger_refresh_updated();\n',
        to: 'FOR EACH ROW EXECUTE FUNCTION public.trigger_refresh_updated();\n\nALTER TABLE public.placement DISABLE TRIGGER set_timestamp;\n',
      },
      {
        file: 'schema/public/tables/daycare_group.sql',
        from: '  CONSTRAINT daycare_group_pkey PRIMARY KEY (id)',
        to: `  CONSTRAINT daycare_group_pkey PRIMARY KEY (id),\n  CONSTRAINT daycare_group_name_no_overlap EXCLUDE USING gist (daycare_id WITH =, name WITH =, daterange(start_date, end_date, '[]'::text) WITH &&)`,
      },
    ],
    byHand: `ALTER TABLE public.placement DROP CONSTRAINT "exclude$placement_no_overlap",
        ADD CONSTRAINT "exclude$placement_no_overlap"
          EXCLUDE USING gist (child_id WITH =, daterange(start_date, end_date, '[]') WITH &&) WHERE (type <> 'CLUB');
      ALTER TABLE public.daycare_caretaker DROP CONSTRAINT daycare_caretaker_no_overlap,
        ADD CONSTRAINT daycare_caretaker_no_overlap
          EXCLUDE USING gist (group_id WITH =, daterange(start_date, end_date, '[)') WITH &&);
      ALTER TABLE public.fridge_partner DROP CONSTRAINT partnership_end_date_matches,
        ADD CONSTRAINT partnership_end_date_matches EXCLUDE USING gist (partnership_id WITH =, end_date WITH <>);
      ALTER TABLE public.fridge_partner DROP CONSTRAINT partnership_start_date_matches,
        ADD CONSTRAINT partnership_start_date_matches EXCLUDE USING gist (partnership_id WITH =, start_date WITH =)
          DEFERRABLE INITIALLY DEFERRED;
      ALTER TABLE public.placement DISABLE TRIGGER set_timestamp;
      ALTER TABLE public.daycare_group ADD CONSTRAINT daycare_group_name_no_overlap
        EXCLUDE USING gist (daycare_id WITH =, name WITH =, daterange(start_date, end_date, '[]') WITH &&);`,
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
    for (const [name, value] of Object.entries(real.settings ?? {}))
      for (const n of [1, 2] as const)
        await w.exec(
          n,
          `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET %s TO %L', current_database(), '${name}', '${value}'); END $$`,
        );
    execFileSync('psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-d', url(1), '-f', join(FIXTURES, real.file)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  }, 120_000);
  afterAll(() => w.teardown());

  if (real.alone) {
    const alone = real.alone;
    it('extracted without the schemas it uses, extract names what a new database would lack', async () => {
      const x = await w.dbee('extract', {
        project: `${name}_alone`,
        env: w.env(1),
        schemas: alone.schemas,
        dryRun: true,
      });
      const said = /^warning: (\d+) objects? outside [^\n]*\n((?: {2}.*\n)*)/m.exec(x.stderr);
      expect(said, x.stderr).not.toBeNull();
      expect(
        said![2]!
          .trimEnd()
          .split('\n')
          .map((l) => l.trim()),
      ).toEqual(alone.outside);
    }, 300_000);
  }

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
      if (real.unwritten.rollback !== undefined)
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

  it('edits deployed by dbee give what psql gives by hand, the live schema read narrowed to what they change', async () => {
    for (const e of real.edits) edit(w.root, name, e);
    const log = logRequests();
    const d = await w.dbee('deploy', { project: name, env: w.env(2) }).finally(log.restore);
    expect(d.stderr).toBe('');
    expect(d.code).toBe(0);
    // The database is as the last deployment left it: the deployment reads, of its tables, those the edits touch and
    // what depends on them (issue 75), unless `readWhole` says why not; the equal dumps below say its plan is right.
    const reads = tableReads(log.events);
    expect(reads.length).toBeGreaterThan(0);
    // After the steps, the convergence check reads what they touched, by name, whatever the planning read.
    expect(reads, real.readWhole).toEqual(
      real.readWhole ? ['whole', ...reads.slice(1).map(() => 'named')] : reads.map(() => 'named'),
    );
    await w.exec(1, real.byHand);
    expectSameDump(real, schemaDump(url(1)), schemaDump(url(2)));
    const diff = await w.dbee('diff', { project: name, env: w.env(1) });
    expect(diff.stdout).toContain('no differences');
  }, 600_000);

  const checks = real.checks;
  if (checks)
    it('the rollback test passes a release of it, and check --dbt names the model a breaking one breaks', async () => {
      const sources = [...new Set(checks.models.flatMap((m) => m.sources ?? []))].map((s) => {
        const [schema, table] = s.split('.') as [string, string];
        return { source: schema, table, schema };
      });
      mkdirSync(join(w.root, 'analytics', 'target'), { recursive: true });
      writeFileSync(
        join(w.root, 'analytics', 'target', 'manifest.json'),
        JSON.stringify(buildManifest(checks.models, sources)),
      );
      edit(w.root, name, checks.compatible);
      const rollback = await w.dbee('deploy', { project: name, env: w.env(2), dryRun: true, testRollback: true });
      expect(rollback.stderr).toBe('');
      expect(rollback.code).toBe(0);
      expect(rollback.stdout).toMatch(/rollback test: the rollback took [^\n]+, and left the copy as it was/);

      edit(w.root, name, checks.breaking);
      const dbt = await w.dbee('check', {
        project: name,
        env: w.env(2),
        dbt: 'analytics/target/manifest.json',
        format: 'json',
      });
      expect(dbt.code, dbt.stderr).toBe(1);
      const report = JSON.parse(dbt.stdout) as { nodes: { name: string; verdict: string }[] };
      expect(report.nodes.map((n) => [n.name, n.verdict]).sort()).toEqual(
        checks.models
          .filter((m) => report.nodes.some((n) => n.name === m.name))
          .map((m) => [m.name, m.name === checks.broken ? 'breaking' : 'pass'])
          .sort(),
      );
      expect(report.nodes.find((n) => n.name === checks.broken)?.verdict).toBe('breaking');
    }, 600_000);
});
