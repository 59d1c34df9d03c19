import { cpSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateProject } from '../../tools/bench/generate';
import { scratchDatabase } from '../support/pg';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';
import type { Engine } from './helpers';
import { Workspace } from '@dbee/core';
import { createPostgresEngine } from '@dbee/postgres';

/**
 * Extract → deploy elsewhere → diff empty: the live objects of environment A are extracted as source files into a
 * workspace that has none, deployed to an empty B, and `dbee diff --env B --against-env A` finds nothing. For the
 * examples, the generated 1,000-object project of tools/bench, and the pagila-like sample of test/fixtures.
 */
const REPO = resolve(__dirname, '..', '..');

function environments(engine: Engine, root: string) {
  return engine === 'pglite'
    ? `  a:\n    engine: postgres\n    connection: { embedded: ${join(root, 'a')} }\n  b:\n    engine: postgres\n    connection: { embedded: ${join(root, 'b')} }\n`
    : `  a:\n    engine: postgres\n    connection: { url: "\${RT_A_URL}" }\n  b:\n    engine: postgres\n    connection: { url: "\${RT_B_URL}" }\n`;
}

interface Corpus {
  name: string;
  /** Copies the sources into the workspace folder; returns the projects, dependencies first, with their schemas. */
  setup(root: string, engine: Engine): { project: string; schemas: string[] }[];
}

const corpora: Corpus[] = [
  {
    name: 'the examples',
    setup(root) {
      for (const p of ['core', 'sales']) cpSync(join(REPO, 'examples', p), join(root, p), { recursive: true });
      return [
        { project: 'core', schemas: ['core'] },
        { project: 'sales', schemas: ['sales'] },
      ];
    },
  },
  {
    name: 'the pagila-like sample',
    setup(root) {
      cpSync(join(REPO, 'test', 'fixtures', 'pagila'), join(root, 'pagila'), { recursive: true });
      return [{ project: 'pagila', schemas: ['pagila'] }];
    },
  },
  {
    // 1,000 objects, on the server only (below).
    name: 'the generated project',
    setup(root) {
      const g = generateProject(join(root, 'gen'), { name: 'gen', objects: 1000 });
      return [{ project: 'gen', schemas: g.schemas }];
    },
  },
];

describe.each<[Engine]>([['pglite'], ['postgres']])('extract, deploy elsewhere, diff empty [%s]', (engine) => {
  const vars: NodeJS.ProcessEnv = {};
  const drops: (() => Promise<void>)[] = [];
  const dataDir = tempWorkspace({});
  beforeAll(async () => {
    if (engine === 'postgres') {
      for (const key of ['RT_A_URL', 'RT_B_URL']) {
        const db = await scratchDatabase('dbee_em_rt');
        vars[key] = db.url;
        drops.push(db.drop);
      }
    }
  });
  afterAll(async () => {
    for (const d of drops) await d();
    dataDir.remove();
  });

  // Extraction reads every corpus through the same catalog queries on both engines: the corpora run whole on the
  // server, and on PGlite the pagila-like sample alone, which holds the most kinds of the three (domains, a type, a
  // materialized view, policies and row-level security, partitions, grants, comments, triggers) (CONTRIBUTING.md,
  // "Engine-independent matrices run whole on one engine, one cell on the other"; a PGlite corpus costs two to four
  // times the server's).
  for (const corpus of engine === 'postgres' ? corpora : corpora.filter((c) => c.name === 'the pagila-like sample')) {
    it(`round-trips ${corpus.name}`, async () => {
      const yaml = `version: 1\ndefaultEnvironment: a\nenvironments:\n${environments(engine, join(dataDir.root, corpus.name.replace(/\W+/g, '-')))}`;
      const source = tempWorkspace({ 'dbee.yaml': yaml });
      const extracted = tempWorkspace({ 'dbee.yaml': yaml });
      try {
        const projects = corpus.setup(source.root, engine);
        const last = projects.at(-1)!.project;
        const deployed = await run(source.root, 'deploy', { project: last, env: 'a' }, vars);
        expect(deployed.stderr).toBe('');
        expect(deployed.code).toBe(0);
        for (const p of projects) {
          const r = await run(
            extracted.root,
            'extract',
            { project: p.project, env: 'a', schemas: p.schemas.join(',') },
            vars,
          );
          expect(r.stderr).toBe('');
          expect(r.code).toBe(0);
          expect(existsSync(join(extracted.root, p.project, 'db.yaml'))).toBe(true);
        }
        // Deterministic: a second extraction writes the same bytes.
        const first = readTree(join(extracted.root, projects[0]!.project));
        expect((await run(extracted.root, 'extract', { project: projects[0]!.project, env: 'a' }, vars)).code).toBe(0);
        expect(readTree(join(extracted.root, projects[0]!.project))).toEqual(first);
        const toB = await run(extracted.root, 'deploy', { project: last, env: 'b' }, vars);
        expect(toB.stderr).toBe('');
        expect(toB.code).toBe(0);
        for (const p of projects) {
          const d = await run(
            extracted.root,
            'diff',
            { project: p.project, env: 'b', againstEnv: 'a', format: 'json', cache: false },
            vars,
          );
          expect(d.code, d.stderr).toBe(0);
          const parsed = JSON.parse(d.stdout) as { changes: number; steps: { statements: string[] }[] };
          expect(parsed.steps.flatMap((s) => s.statements)).toEqual([]);
          // And by the engine's fingerprint, which reads definitions the model does not hold yet (policies, ACLs by
          // name, comments): equal lines, equal hash, the database identity aside.
          const [fa, fb] = [
            await definitions(extracted.root, 'a', p.schemas, vars),
            await definitions(extracted.root, 'b', p.schemas, vars),
          ];
          expect(fb).toBe(fa);
        }
        if (engine === 'postgres') {
          // Both databases now hold the same schemas: wipe them for the next corpus.
          for (const key of ['RT_A_URL', 'RT_B_URL']) await wipe(String(vars[key]));
        }
      } finally {
        source.remove();
        extracted.remove();
      }
    });
  }
});

/** The engine's fingerprint of some schemas without the database's identity: `<lines>:<md5 of the definitions>`. */
async function definitions(root: string, env: string, schemas: string[], vars: NodeJS.ProcessEnv): Promise<string> {
  const workspace = Workspace.load(root);
  const environment = workspace.environment(env, { ...process.env, ...vars });
  const engine = createPostgresEngine();
  const conn = await engine.connect(environment, { workspaceRoot: root });
  try {
    return (await engine.diff!.fingerprint(conn, { schemas })).split(':').slice(2).join(':');
  } finally {
    await conn.close();
  }
}

function readTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.isDirectory()) walk(join(d, e.name), rel + e.name + '/');
      else out[rel + e.name] = readFileSync(join(d, e.name), 'utf8');
    }
  };
  walk(dir, '');
  return out;
}

async function wipe(url: string): Promise<void> {
  const { queryUrl } = await import('../support/pg');
  await queryUrl(
    url,
    `DO $$ DECLARE s text; BEGIN FOR s IN SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'public') AND nspname NOT LIKE 'pg\\_%' LOOP EXECUTE format('DROP SCHEMA %I CASCADE', s); END LOOP; END $$`,
  );
}
