import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createPostgresEngine } from '@dbee/postgres';
import { importFolders, problems } from '../../../../test/support/import-files';
import { requireRole } from '../engine/engine';
import type { DbeeError } from '../errors';
import { flywayChecksum } from './checksums';
import { gooseSections } from './goose';
import { IMPORTERS } from './tools';
import { changeId } from './sqitch';
import { appliedMigrations } from './verify';

const ROLE = requireRole(createPostgresEngine(), 'import', 'import');
const folder = importFolders('dbee-import-');

describe("Flyway's checksum", () => {
  it('is the CRC32 of the lines without their line breaks, a BOM dropped, as a signed int (zlib as the oracle)', () => {
    const lines = ['CREATE TABLE t (id int);', 'INSERT INTO t VALUES (1); -- Iße', ''];
    const want = crc32(Buffer.from(lines.join(''), 'utf8')) | 0;
    expect(flywayChecksum(lines.join('\n'))).toBe(want);
    expect(flywayChecksum(lines.join('\r\n'))).toBe(want);
    expect(flywayChecksum(`\uFEFF${lines.join('\r')}`)).toBe(want);
    expect(flywayChecksum('x')).toBe(crc32('x') | 0);
    expect(flywayChecksum('abcdefgh')).toBeLessThan(0);
  });
});

describe("Sqitch's change id", () => {
  it("is the id Sqitch's tutorial shows for flipr's first change (lib/sqitchtutorial.pod)", () => {
    const appschema = {
      name: 'appschema',
      line: 1,
      requires: [],
      conflicts: [],
      timestamp: '2013-12-30T23:19:45Z',
      planner: 'Marge N. O’Vera <marge@example.com>',
      note: 'Add schema for all flipr objects.',
      tags: [],
    };
    expect(changeId('flipr', 'https://github.com/theory/sqitch-intro/', appschema, null)).toBe(
      'c7981df861183412b01be706889e508a63d445ca',
    );
  });
});

describe('the readers refuse what they cannot map, with file and line, all together', () => {
  it('goose: Go migrations, unknown annotations, an unclosed StatementBegin', () => {
    const dir = folder({
      '00001_a.sql': '-- +goose Up\n-- +goose ENVSUB ON\nSELECT 1;\n',
      '00002_b.go': 'package migrations\n',
      '00003_c.sql': '-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n',
    });
    expect(problems(() => IMPORTERS.goose.read(dir, 'legacy', ROLE))).toEqual([
      'legacy/00001_a.sql:2 -- +goose ENVSUB ON is not an annotation the import knows (Up, Down, StatementBegin, StatementEnd, NO TRANSACTION)',
      'legacy/00002_b.go:1 00002_b.go is a Go migration, which dbee cannot convert',
      'legacy/00003_c.sql:2 -- +goose StatementBegin without its StatementEnd',
    ]);
  });

  it('goose: the Up and Down sections without their annotations', () => {
    const out: DbeeError[] = [];
    const s = gooseSections(
      '-- +goose NO TRANSACTION\n-- +goose Up\n-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n-- +goose StatementEnd\n\n-- +goose Down\nDROP FUNCTION f();\n',
      'x.sql',
      out,
    );
    expect(out).toEqual([]);
    expect(s).toEqual({
      up: 'CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n',
      down: 'DROP FUNCTION f();\n',
      noTransaction: true,
    });
  });

  it('flyway: callbacks, a missing placeholder, an undo without its migration, two files of one version', () => {
    const dir = folder({
      'afterMigrate.sql': 'SELECT 1;\n',
      'V1__a.sql': "SELECT '${nope}';\n",
      'V01__b.sql': 'SELECT 2;\n',
      'U2__c.sql': 'SELECT 3;\n',
      'R__views.sql': 'CREATE OR REPLACE VIEW v AS SELECT 1 AS one;\n',
      'README.md': 'notes\n',
    });
    expect(problems(() => IMPORTERS.flyway.read(dir, 'legacy', ROLE))).toEqual([
      'legacy/V1__a.sql:1 placeholder ${nope} has no value in flyway.conf / flyway.toml (none in the folder)',
      'legacy/afterMigrate.sql:1 afterMigrate.sql is a Flyway callback, which dbee has no equivalent of',
      'legacy/V1__a.sql:1 version 1 is used twice (V01__b.sql and V1__a.sql)',
      'legacy/U2__c.sql:1 undo script for version 2, which has no migration',
    ]);
  });

  it('flyway: flyway.toml locations and placeholders, repeatable scripts as object files, undo scripts as rollbacks', () => {
    const dir = folder({
      'flyway.toml':
        '[environments.prod]\nurl = "jdbc:postgresql://x/y"\n\n[flyway]\nlocations = ["filesystem:db/sql"]\n\n[flyway.placeholders]\nowner = "app"\n',
      'db/sql/V1_1__Init.sql': 'CREATE TABLE t (id int);\nALTER TABLE t OWNER TO ${owner};\n',
      'db/sql/U1_1__Init.sql': 'DROP TABLE t;\n',
      'db/sql/R__View.sql': 'CREATE OR REPLACE VIEW v AS SELECT id FROM t;\n',
    });
    const read = IMPORTERS.flyway.read(dir, 'legacy', ROLE);
    expect(read.migrations.map((m) => [m.version, m.name, m.up, m.down])).toEqual([
      ['1.1', 'Init', 'CREATE TABLE t (id int);\nALTER TABLE t OWNER TO {{owner}};\n', 'DROP TABLE t;\n'],
    ]);
    expect(read.variables).toEqual({ owner: 'app' });
    expect(read.repeatables.map((r) => r.path)).toEqual(['repeatable/View.sql']);
    expect(read.skipped).toEqual(['flyway.toml: environments.prod.url (not used by the import)']);
  });

  it('drizzle: a journal entry without its file', () => {
    const dir = folder({
      'meta/_journal.json': JSON.stringify(
        { version: '5', entries: [{ idx: 0, when: 1, tag: '0000_x', breakpoints: true }] },
        null,
        2,
      ),
    });
    expect(problems(() => IMPORTERS.drizzle.read(dir, 'legacy', ROLE))).toEqual([
      'legacy/meta/_journal.json:7 the journal lists 0000_x.sql, which is not in the folder',
    ]);
  });
});

describe('rails: db/structure.sql only', () => {
  it('refuses db/schema.rb, and a migration of db/migrate that the dump does not list (a stale dump)', () => {
    expect(
      problems(() => IMPORTERS.rails.read(folder({ 'db/schema.rb': 'ActiveRecord::Schema.define {}\n' }), 'app', ROLE)),
    ).toEqual(['app/db/schema.rb:1 db/schema.rb is Ruby, which dbee does not read']);
    const dir = folder({
      'db/structure.sql':
        "SET statement_timeout = 0;\nCREATE TABLE public.t (id int);\n\nINSERT INTO \"schema_migrations\" (version) VALUES\n('1'),\n('2');\n",
      'db/migrate/1_a.rb': '',
      'db/migrate/2_b.rb': '',
      'db/migrate/3_c.rb': '',
    });
    expect(problems(() => IMPORTERS.rails.read(dir, 'app', ROLE))).toEqual([
      "app/db/migrate/3_c.rb:1 migration 3 is not in db/structure.sql's schema_migrations: the dump is older than the migrations",
    ]);
    rmSync(join(dir, 'db/migrate/3_c.rb'));
    const read = IMPORTERS.rails.read(dir, 'app', ROLE);
    expect([read.migrations[0]!.up, read.recorded]).toEqual(['CREATE TABLE public.t (id int);\n', ['1', '2']]);
  });
});

describe('the history against the folder', () => {
  const dir = () => folder({ '1_a.up.sql': 'SELECT 1;\n', '2_b.up.sql': 'SELECT 2;\n', '3_c.up.sql': 'SELECT 3;\n' });

  it('golang-migrate: the current version and every one before it', () => {
    const read = IMPORTERS['golang-migrate'].read(dir(), 'legacy', ROLE);
    const applied = appliedMigrations(
      IMPORTERS['golang-migrate'],
      read,
      {
        entries: [{ id: '2', checksum: null, failed: null, label: 'version 2', at: null }],
        implied: [{ id: '1', through: 'version 2, the current version' }],
      },
      'schema_migrations',
    );
    expect(applied.map((a) => [a.migration.version, a.evidence])).toEqual([
      ['1', 'applied before version 2, the current version, checksum not verified'],
      ['2', 'applied by golang-migrate, checksum not verified (golang-migrate keeps none)'],
    ]);
  });
});

/** The fixtures of test/fixtures/import (real public migration folders). */
const FIXTURES = join(__dirname, '..', '..', '..', '..', 'test', 'fixtures', 'import');

describe('a checksum the history holds is compared with the file, and a changed file is refused at that file', () => {
  // The tool's checksum of each file as it was applied, made here by other code than dbee's: Prisma's and Drizzle's
  // SHA-256 of the file, Sqitch's SHA-1 of the deploy script (`script_hash`). Then one file is edited.
  const cases = [
    { tool: 'prisma', fixture: 'prisma/migrations', file: '16_boards/migration.sql', hash: 'sha256' },
    { tool: 'drizzle', fixture: 'drizzle/migrations', file: '0001_test.sql', hash: 'sha256' },
    { tool: 'sqitch', fixture: 'sqitch/project', file: 'deploy/lists.sql', hash: 'sha1' },
  ] as const;
  for (const c of cases)
    it(`${c.tool}: verified as applied, refused once ${c.file} changed`, () => {
      const dir = folder({});
      cpSync(join(FIXTURES, c.fixture), dir, { recursive: true });
      const importer = IMPORTERS[c.tool];
      const applied = importer.read(dir, 'legacy', ROLE);
      const history = {
        entries: applied.migrations.map((m) => ({
          id: m.id,
          checksum: createHash(c.hash)
            .update(readFileSync(join(dir, m.file)))
            .digest('hex'),
          failed: null,
          label: `${m.file} (history)`,
          at: null,
        })),
        implied: [],
      };
      const ok = appliedMigrations(importer, applied, history, 'history');
      expect(ok.map((a) => a.evidence)).toEqual(
        applied.migrations.map(() => `applied by ${c.tool}, checksum verified`),
      );
      appendFileSync(join(dir, c.file), '\nSELECT 1;\n');
      const edited = importer.read(dir, 'legacy', ROLE);
      expect(problems(() => appliedMigrations(importer, edited, history, 'history'))).toEqual([
        `${c.file}:1 ${c.file} (history): its file ${c.file} changed since ${c.tool} applied it`,
      ]);
    });
});
