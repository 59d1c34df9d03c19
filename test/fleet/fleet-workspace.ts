import { afterAll, beforeAll } from 'vitest';
import { scratchDatabase } from '../support/pg';
import { tempWorkspace } from '../support/workspace';

/**
 * The dbee.yaml of the fleet tests: environment `fleet` (the default) on the server, whose targets each take their URL
 * from an environment variable (`${URL_1}`...), with labels.
 */
export function fleetYaml(targets: { name: string; variable: string; labels?: Record<string, string> }[]): string {
  const line = (t: (typeof targets)[number]) => {
    const labels = t.labels
      ? `, labels: { ${Object.entries(t.labels)
          .map(([k, v]) => `${k}: "${v}"`)
          .join(', ')} }`
      : '';
    return `        - { name: ${t.name}, connection: { url: "\${${t.variable}}" }${labels} }`;
  };
  return `version: 1
defaultEnvironment: fleet
environments:
  fleet:
    engine: postgres
    connection: {}
    fleet:
      targets:
${targets.map(line).join('\n')}
`;
}

/** Project `a`: schema a, table a.t and view a.v over it. */
export const PROJECT_A = {
  'a/db.yaml': 'version: 1\nname: a\nengine: postgres\nschemas: [a]\n',
  'a/t.sql': 'CREATE SCHEMA a;\nCREATE TABLE a.t (id int PRIMARY KEY, name text);\n',
  'a/v.sql': 'CREATE VIEW a.v AS SELECT id, name FROM a.t;\n',
};

/**
 * A fleet of `count` scratch databases on the server and a workspace of `files`, made before the file's tests (its own
 * `beforeAll`s run after, in order) and removed after them: `env` holds each target's URL (`URL_1`...), as `fleetYaml`'s
 * targets read it; `w` is the workspace once made.
 */
export function scratchFleet(
  prefix: string,
  count: number,
  files: Record<string, string>,
  timeout = 120_000,
): {
  dbs: Awaited<ReturnType<typeof scratchDatabase>>[];
  env: Record<string, string>;
  w: ReturnType<typeof tempWorkspace>;
} {
  const fleet = { dbs: [], env: {}, w: undefined } as unknown as ReturnType<typeof scratchFleet>;
  beforeAll(async () => {
    for (let i = 0; i < count; i++) {
      const db = await scratchDatabase(prefix);
      fleet.dbs.push(db);
      fleet.env[`URL_${i + 1}`] = db.url;
    }
    fleet.w = tempWorkspace(files);
  }, timeout);
  afterAll(async () => {
    fleet.w?.remove();
    for (const db of fleet.dbs) await db.drop();
  });
  return fleet;
}
