import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { CreateNodesContext } from '@nx/devkit';

/** A throw-away workspace on disk: dbee.yaml plus the files given, relative to its root. */
export class TestWorkspace {
  readonly root: string;

  constructor(files: Record<string, string>) {
    this.root = mkdtempSync(join(tmpdir(), 'dbee-nx-'));
    this.write({ 'dbee.yaml': DBEE_YAML, ...files });
  }

  write(files: Record<string, string>): void {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(this.root, path)), { recursive: true });
      writeFileSync(join(this.root, path), text);
    }
  }

  context(): CreateNodesContext {
    return { workspaceRoot: this.root, nxJsonConfiguration: {} };
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

export const DBEE_YAML = `version: 1
defaultEnvironment: local
environments:
  local:
    engine: postgres
    connection:
      embedded: .dbee/local
  test:
    engine: postgres
    connection:
      url: \${DBEE_TEST_URL}
`;

export const CORE_DB_YAML = `version: 1
name: core
engine: postgres
schemas: [core]
`;

export const SALES_DB_YAML = `version: 1
name: sales
engine: postgres
schemas: [sales]
dependsOn:
  - core
`;

/** The fingerprint script's absolute path, as createNodes writes it for a workspace outside this repository. */
export const FINGERPRINT_SCRIPT = resolve(__dirname, '..', '..', 'bin', 'fingerprint.js');
