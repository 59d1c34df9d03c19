import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { teradataWorkspace, type TeradataWorkspace } from './helpers';

/**
 * `dbee detag` (#64 deliverable 6, d-bee's detag): files written with the environment's database names (extracted
 * before the project used placeholders) get `{{env}}_EDW` back where the name qualifies another, in place; a column or
 * a string holding the same word stays. Reads no database.
 */

let w: TeradataWorkspace;
afterEach(() => w?.dispose());

const FILE = 'schema/edw/views/v_old.sql';
const TEXT =
  'REPLACE VIEW DEV_EDW.v_old AS SELECT o.order_id, \'DEV_EDW\' AS dev_edw FROM "dev_edw".orders o JOIN DEV_EDW.customers c ON c.customer_id = o.customer_id;\n';

describe('dbee detag on Teradata (#64)', () => {
  it('--dry-run lists the file and changes nothing; then the qualifiers become {{env}}_EDW, other text stays', async () => {
    w = teradataWorkspace();
    w.write(FILE, TEXT);
    const dry = await w.dbee('detag', { dryRun: true });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/would detag .*v_old\.sql/);
    expect(dry.stdout).toMatch(/DEV_EDW → \{\{env\}\}_EDW/);
    expect(readFileSync(join(w.root, FILE), 'utf8')).toBe(TEXT);

    const r = await w.dbee('detag');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1 file changed/);
    expect(readFileSync(join(w.root, FILE), 'utf8')).toBe(
      "REPLACE VIEW {{env}}_EDW.v_old AS SELECT o.order_id, 'DEV_EDW' AS dev_edw FROM {{env}}_EDW.orders o JOIN {{env}}_EDW.customers c ON c.customer_id = o.customer_id;\n",
    );
    // The example's own files already use placeholders: nothing else changed, and a second run changes nothing.
    const again = await w.dbee('detag');
    expect(again.stdout).toMatch(/0 files changed/);
  });
});
