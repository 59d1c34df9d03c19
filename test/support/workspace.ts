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

/** dbee.yaml of a workspace with one environment, `local`: the embedded database in `.dbee/local`. */
export const LOCAL_WORKSPACE_YAML = `version: 1
defaultEnvironment: local
environments:
  local:
    engine: postgres
    connection: { embedded: .dbee/local }
`;
