import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A throwaway workspace on disk: `files` maps relative paths to contents. */
export function tempWorkspace(files: Record<string, string>): {
  root: string;
  write(rel: string, text: string): void;
  remove(): void;
} {
  const root = mkdtempSync(join(tmpdir(), 'dbee-ws-'));
  const write = (rel: string, text: string) => {
    const abs = join(root, rel);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, text);
  };
  for (const [rel, text] of Object.entries(files)) write(rel, text);
  return { root, write, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** A dbee.yaml with an in-memory embedded environment `local` and a server environment `server`. */
export const WORKSPACE_YAML = `version: 1
defaultEnvironment: local
environments:
  local:
    engine: postgres
    connection:
      embedded: memory
  server:
    engine: postgres
    connection:
      url: \${DBEE_TEST_PG_URL}
`;

/** dbee.yaml of a workspace with one environment, `test`: the database of the variable URL_TEST. */
export const URL_TEST_WORKSPACE_YAML =
  'version: 1\ndefaultEnvironment: test\nenvironments:\n  test:\n    engine: postgres\n    connection:\n      url: ${URL_TEST}\n';

/** A project `name` of one schema with one table, as files of a workspace (`tempWorkspace`). */
export function oneTableProject(name: string): Record<string, string> {
  return {
    [`${name}/db.yaml`]: `version: 1\nname: ${name}\nengine: postgres\nschemas: [${name}]\n`,
    [`${name}/t.sql`]: `CREATE SCHEMA ${name};\nCREATE TABLE ${name}.t (id int);\n`,
  };
}

/** dbee.yaml of a workspace with one environment, `local`: the embedded database in `.dbee/local`. */
export const LOCAL_WORKSPACE_YAML = `version: 1
defaultEnvironment: local
environments:
  local:
    engine: postgres
    connection: { embedded: .dbee/local }
`;
