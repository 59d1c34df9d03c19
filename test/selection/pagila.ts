import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Pagila's published schema (test/fixtures/real/pagila, MIT) as one source file of project `pl`, schema `pl`: the
 * dump as fetched, with `public` renamed `pl` and the parts over the `vector` extension (not installed on the test
 * server, absent from PGlite) left out: the extension and the `film_embedding` table with its keys and index. What
 * PostgreSQL 18 added (a virtual generated column, `uuidv7()`) is written as the test server (15) has it.
 */
export function pagilaSources(): Record<string, string> {
  const dump = readFileSync(join(__dirname, '..', 'fixtures', 'real', 'pagila', 'pagila-schema.sql'), 'utf8');
  const kept = dump
    .split(/\n(?=--\n-- Name: )/)
    .filter((block) => !/\bvector\b|film_embedding/.test(block))
    .join('\n')
    .replace(/\bpublic\./g, 'pl.')
    .replace(/\bSCHEMA public\b/g, 'SCHEMA pl')
    // PostgreSQL 18's virtual generated column (film.length_hours) and uuidv7(): the test server is older.
    .replace(/\) VIRTUAL$/m, ') STORED')
    .replace(/\buuidv7\(\)/g, 'gen_random_uuid()');
  return {
    'pl/db.yaml': 'version: 1\nname: pl\nengine: postgres\nschemas: [pl]\n',
    'pl/schema/pl/schema.sql': 'CREATE SCHEMA pl;\n',
    'pl/schema/pl/pagila.sql': kept,
  };
}
