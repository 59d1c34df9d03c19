import { describe, expect, it } from 'vitest';
import type { ObjectKey } from '@dbee/core';
import { extensionFiles, type ExtensionUse } from './extensions';

const pathOf = (k: ObjectKey) => `schema/${k.schema}/extensions/${k.name}.sql`;

/** Extensions installed outside the project's schemas, all used by its objects. */
function use(installed: { name: string; schema: string }[]): ExtensionUse {
  return {
    members: new Map(),
    dependedOn: new Set(installed.map((e) => e.name)),
    installed: new Map(installed.map((e) => [e.name, { ...e, requires: [], comment: null }])),
  };
}

describe('extensionFiles', () => {
  it('makes a schema of their own once, in the first file, when two extensions share it (eVaka: ext)', () => {
    // Each file made the schema before, and the sources then defined schema:ext twice (deploy refused them).
    const files = extensionFiles(
      use([
        { name: 'uuid-ossp', schema: 'ext' },
        { name: 'btree_gist', schema: 'ext' },
        { name: 'postgis', schema: 'postgis' },
      ]),
      [],
      new Set(),
      pathOf,
    );
    expect(files.map((f) => [f.path, f.text])).toEqual([
      [
        'schema/ext/extensions/btree_gist.sql',
        "-- Installed in schema ext, outside the project's schemas: the project's objects use it.\n" +
          'CREATE SCHEMA IF NOT EXISTS ext;\n\nCREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA ext;\n',
      ],
      [
        'schema/postgis/extensions/postgis.sql',
        "-- Installed in schema postgis, outside the project's schemas: the project's objects use it.\n" +
          'CREATE SCHEMA IF NOT EXISTS postgis;\n\nCREATE EXTENSION IF NOT EXISTS postgis WITH SCHEMA postgis;\n',
      ],
      [
        'schema/ext/extensions/uuid-ossp.sql',
        "-- Installed in schema ext, outside the project's schemas: the project's objects use it.\n" +
          '-- Schema ext is made in schema/ext/extensions/btree_gist.sql.\n' +
          'CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA ext;\n',
      ],
    ]);
  });

  it('makes no schema every database has (public)', () => {
    const [file] = extensionFiles(use([{ name: 'cube', schema: 'public' }]), [], new Set(), pathOf);
    expect(file!.text).not.toContain('CREATE SCHEMA');
  });
});
