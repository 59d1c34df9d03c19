import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyChangeSet, generateChangeSet, generateProject } from '../../tools/bench/generate';
import { run } from '../support/run';
import { queryUrl, scratchDatabase } from '../support/pg';
import { logRequests } from '../support/request-log';

/**
 * The diff and `plan --out` of a generated project (the benchmark's shapes, 220 objects, plus two tables whose foreign
 * keys form a cycle): what they print and write is what they printed and wrote before they were made faster (issue
 * #40 item 5), and a diff served from the cache reads only what it needs.
 */

/** SHA-256 of every file of a package (path and bytes), the manifest's dbee version left out. */
function packageDigest(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(d, e.name)) : [relative(dir, join(d, e.name))],
    );
  for (const rel of walk(dir).sort()) {
    let bytes = readFileSync(join(dir, rel), 'utf8');
    if (rel === 'manifest.json') bytes = bytes.replace(/("tool": \{\s*"name": "dbee",\s*"version": )"[^"]*"/, '$1""');
    h.update(`${rel}\0${bytes}\0`);
  }
  return h.digest('hex');
}

const CYCLE = `CREATE TABLE gen_s0.ring_a (
  id bigint PRIMARY KEY,
  b_id bigint,
  CONSTRAINT ring_a_b_fk FOREIGN KEY (b_id) REFERENCES gen_s0.ring_b (id)
);

CREATE TABLE gen_s0.ring_b (
  id bigint PRIMARY KEY,
  a_id bigint REFERENCES gen_s0.ring_a (id)
);
`;

describe('a generated project of 220 objects', () => {
  let root: string;
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  const env = () => ({ DBEE_GEN_URL: db.url });

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'dbee-generated-'));
    const base = join(root, 'base');
    generateProject(join(base, 'gen'), { name: 'gen', objects: 220 });
    writeFileSync(join(base, 'gen', 'schema', 'gen_s0', 'tables', 'ring.sql'), CYCLE);
    writeFileSync(
      join(base, 'dbee.yaml'),
      'version: 1\ndefaultEnvironment: d\nshadow: server\nenvironments:\n  d:\n    engine: postgres\n    connection:\n      url: ${DBEE_GEN_URL}\n',
    );
    db = await scratchDatabase();
    const deployed = await run(base, 'deploy', { project: 'gen', env: 'd' }, env());
    expect(deployed.code, deployed.stderr).toBe(0);
    cpSync(base, join(root, 'changed'), { recursive: true });
    rmSync(join(root, 'changed', '.dbee'), { recursive: true, force: true });
    applyChangeSet(
      join(root, 'changed', 'gen'),
      generateChangeSet(generateProject(join(root, 'scratch', 'gen'), { name: 'gen', objects: 220 })),
    );
  }, 120_000);

  afterAll(async () => {
    await db?.drop();
    rmSync(root, { recursive: true, force: true });
  });

  it('plan --out writes the same bytes as before', async () => {
    const out = join(root, 'package');
    const r = await run(join(root, 'base'), 'plan', { project: 'gen', env: 'd', out }, env());
    expect(r.code, r.stderr).toBe(0);
    // Written by the dbee of main before issue #40 item 5 (be7298b), for the same sources, but for release.json's
    // `toSources: true` (issue 88: a package says whether it leads to its sources) and the manifest's hash of it.
    expect(packageDigest(out)).toBe('9b9ab874fe6f51ac1561d9deabb805561243874c6565c35760bdf5702a4252d5');
    // The parse cache it wrote holds no foreign key split out of its table: writing it lexed no table (it lexed every
    // table with a foreign key); the split is made when a cycle needs it, from the cache too.
    const packs = join(root, 'base', '.dbee', 'cache', 'parse');
    const pack = readdirSync(packs)
      .map((f) => readFileSync(join(packs, f), 'utf8'))
      .join('');
    expect(pack.match(/"statementWithout"/g)).toBeNull();
    expect(pack.match(/"deferred":true/g)?.length).toBeGreaterThan(40);
    // Planned again from that cache, the same bytes.
    const again = await run(join(root, 'base'), 'plan', { project: 'gen', env: 'd', out }, env());
    expect(again.code, again.stderr).toBe(0);
    expect(packageDigest(out)).toBe('9b9ab874fe6f51ac1561d9deabb805561243874c6565c35760bdf5702a4252d5');
  });

  it('a diff served from the cache reads no cached desired model, and prints what the first diff printed', async () => {
    const ws = join(root, 'changed');
    const first = await run(ws, 'diff', { project: 'gen', env: 'd' }, env());
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/ALTER TABLE gen_s\d\.child_\d+ ADD COLUMN bench_note/);
    // The cached model is damaged: a diff that needs it fails, one answered from the diff cache does not read it.
    const models = join(ws, '.dbee', 'cache', 'models');
    for (const f of readdirSync(models)) writeFileSync(join(models, f), '{ damaged');
    const second = await run(ws, 'diff', { project: 'gen', env: 'd' }, env());
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(' -> sources (cached)\n');
    expect(second.stdout.replace(' (cached)', '')).toBe(first.stdout);
    const json = await run(ws, 'diff', { project: 'gen', env: 'd', format: 'json' }, env());
    expect(JSON.parse(json.stdout).cached).toBe(true);
  });
});

describe('a cached diff after a deployment [postgres]', () => {
  let root: string;
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  const env = () => ({ DBEE_GEN_URL: db.url });
  const log = logRequests();
  const FINGERPRINT = /^\s*with ns as \(/;
  const CATALOG_VERSION = /^\s*select md5\(concat_ws\('\|',/;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'dbee-generated-'));
    generateProject(join(root, 'gen'), { name: 'gen', objects: 60 });
    writeFileSync(
      join(root, 'dbee.yaml'),
      'version: 1\ndefaultEnvironment: d\nshadow: server\nenvironments:\n  d:\n    engine: postgres\n    connection:\n      url: ${DBEE_GEN_URL}\n',
    );
    db = await scratchDatabase();
    const deployed = await run(root, 'deploy', { project: 'gen', env: 'd' }, env());
    expect(deployed.code, deployed.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    log.restore();
    await db?.drop();
    rmSync(root, { recursive: true, force: true });
  });

  /** The diff as JSON, and the catalog requests it sent. */
  const diff = async () => {
    const from = log.events.length;
    const r = await run(root, 'diff', { project: 'gen', env: 'd', format: 'json' }, env());
    expect(r.code, r.stderr).toBe(0);
    const sent = log.events.slice(from).filter((e) => e.kind === 'sent');
    return {
      cached: (JSON.parse(r.stdout) as { cached: boolean }).cached,
      fingerprints: sent.filter((e) => FINGERPRINT.test(e.text)).length,
      versions: sent.filter((e) => CATALOG_VERSION.test(e.text)).length,
    };
  };

  it('takes the fingerprint the deployment recorded while the catalog is unchanged, and reads it once it changes', async () => {
    // The first diff builds the sources' model and reads the live side: the recorded fingerprint keys it too.
    expect(await diff()).toMatchObject({ cached: false, fingerprints: 0, versions: 1 });
    // Served from the cache by the catalog version alone: the fingerprint query (every definition printed) not sent.
    expect(await diff()).toEqual({ cached: true, fingerprints: 0, versions: 1 });
    // A change outside dbee: the version differs, the fingerprint is read, and the diff is made again.
    await queryUrl(db.url, `COMMENT ON SCHEMA gen_s0 IS 'changed by hand'`);
    expect(await diff()).toEqual({ cached: false, fingerprints: 1, versions: 1 });
    expect(await diff()).toEqual({ cached: true, fingerprints: 1, versions: 1 });
  });
});
