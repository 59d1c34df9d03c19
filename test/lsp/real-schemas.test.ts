import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scratchDatabase } from '../support/pg';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';
import { LspClient } from './lsp-client';

const FIXTURES = join(__dirname, '..', 'fixtures', 'real');

/**
 * `dbee lsp` on projects nobody on the project wrote: three schemas of the real corpus (test/fixtures/real: Rails with
 * five extensions in `public`, PostGIS in `public`, MusicBrainz with a collation, a text search configuration and
 * extensions), loaded by psql as published and extracted by dbee. A language server that flags what the database
 * itself accepts is one users turn off: the whole workspace has no diagnostic. Then a new file of the project with a
 * syntax error has exactly its one (the server reads these projects). A view over a table no project has is an error
 * where the schema holds no extension (musicbrainz); where it holds some (`public` of the Rails schemas), the name may
 * be an extension's object, which the sources do not list, and the editor says nothing (`referenceDiagnostics`); a
 * misspelt table is reported in both, with the name it is close to.
 */
const CORPUS = [
  {
    name: 'danbooru',
    file: 'danbooru/structure.sql',
    schemas: 'public',
    schema: 'public',
    extractExit: 1,
    missing: 0,
    table: 'posts',
  },
  {
    name: 'openstreetmap',
    file: 'openstreetmap/structure.sql',
    schemas: 'public',
    schema: 'public',
    extractExit: 0,
    missing: 0,
    table: 'users',
  },
  {
    name: 'musicbrainz',
    file: 'musicbrainz/schema.sql',
    schemas: 'musicbrainz,public',
    schema: 'musicbrainz',
    extractExit: 0,
    missing: 1,
    table: 'artist',
  },
];

describe.each(CORPUS)('dbee lsp on a real schema, extracted: $name [postgres]', (real) => {
  const drops: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const d of drops) await d();
  });

  it('has no diagnostic; a syntax error has its one', async () => {
    const db = await scratchDatabase('dbee_lspr');
    drops.push(db.drop);
    execFileSync('psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-d', db.url, '-f', join(FIXTURES, real.file)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const w = tempWorkspace({
      'dbee.yaml': `version: 1\ndefaultEnvironment: src\nenvironments:\n  src:\n    engine: postgres\n    connection: { url: "${db.url}" }\n`,
    });
    drops.push(async () => w.remove());
    // danbooru's operator is not written by extract (it says so, exit 1); the rest of its files are.
    const x = await run(w.root, 'extract', { project: real.name, env: 'src', schemas: real.schemas });
    expect(x.code, x.stderr).toBe(real.extractExit);
    const c = await LspClient.start(w.root);
    try {
      expect(c.seen()).toEqual([]);
      const probe = `${real.name}/schema/${real.schema}/views/dbee_probe.sql`;
      await c.open(probe, `CREATE VIEW ${real.schema}.dbee_probe AS SELEC 1;\n`);
      expect(c.seen().map((d) => [d.file, d.severity])).toEqual([[probe, 1]]);
      await c.change(probe, `CREATE VIEW ${real.schema}.dbee_probe AS SELECT id FROM ${real.schema}.no_such_table;\n`);
      expect(c.seen().filter((d) => d.message.includes('no_such_table'))).toHaveLength(real.missing);
      // A misspelling: an error in a schema without extensions, a warning where an extension could make the name.
      await c.change(probe, `CREATE VIEW ${real.schema}.dbee_probe AS SELECT 1 FROM ${real.schema}.${real.table}z;\n`);
      const typo = c.seen();
      expect(typo.map((d) => [d.file, d.severity, d.code])).toEqual([
        [probe, real.missing ? 1 : 2, 'REFERENCE_UNKNOWN'],
      ]);
      expect(typo[0]!.message).toContain(`did you mean ${real.schema}.${real.table}?`);
    } finally {
      expect(await c.stop()).toBe(0);
    }
  }, 300_000);
});
