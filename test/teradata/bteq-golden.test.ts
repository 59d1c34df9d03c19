import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { splitStatements } from '@dbee/teradata';
import { ansiEnvironment, EXAMPLE, exportScripts, teradataWorkspace, type TeradataWorkspace } from './helpers';

// Issue #92, the golden diff: the scripts `dbee plan --format bteq` writes for the example and for the Teradata test
// workspaces, compared line for line with the files in test/teradata/golden/, so that a change of the generator shows
// every line it changes in review (`git diff test/teradata/golden`). A change that means to change a script rewrites
// them with `DBEE_GOLDEN=write npx vitest run test/teradata/bteq-golden.test.ts` and commits the diff with it.

const GOLDEN = join(__dirname, 'golden');
const NOW = new Date(Date.UTC(2026, 10, 21, 10, 30, 0));

const opened: TeradataWorkspace[] = [];
afterEach(() => {
  for (const w of opened.splice(0)) w.dispose();
});
// Only Date is faked: the export's ids and backup names come from the clock; the fake system's waits stay real.
beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});
afterAll(() => {
  vi.useRealTimers();
});

function workspace(options: Parameters<typeof teradataWorkspace>[0] = {}): TeradataWorkspace {
  const w = teradataWorkspace(options);
  opened.push(w);
  return w;
}

function compare(name: string, scripts: { deploy: string; rollback: string }): void {
  for (const [which, text] of Object.entries(scripts)) {
    const file = join(GOLDEN, `${name}.${which}.btq`);
    if (process.env.DBEE_GOLDEN === 'write') {
      mkdirSync(GOLDEN, { recursive: true });
      writeFileSync(file, text);
    }
    expect(existsSync(file), `${file} is missing: DBEE_GOLDEN=write writes it`).toBe(true);
    expect(text, `${name}.${which}.btq differs from the golden file`).toBe(readFileSync(file, 'utf8'));
  }
}

function edit(w: TeradataWorkspace, file: string, change: (text: string) => string): void {
  w.write(file, change(readFileSync(join(w.root, file), 'utf8')));
}

describe('the generated BTEQ scripts, against their golden files (#92)', () => {
  it('the example, a first release: TERA and ANSI', async () => {
    compare('example-tera', await exportScripts(workspace()));
    const ansi = workspace({ tmode: 'ANSI' });
    ansiEnvironment(ansi);
    compare('example-ansi', await exportScripts(ansi));
  });

  it('the example over the same objects made by hand (rename with copyData, a join index, drop)', async () => {
    const w = workspace();
    const dba = w.session.newSession();
    for (const folder of ['tables', 'join_indexes', 'views', 'macros', 'procedures']) {
      for (const file of readdirSync(join(EXAMPLE, 'schema/edw', folder)).sort()) {
        const text = readFileSync(join(EXAMPLE, 'schema/edw', folder, file), 'utf8').replace(/\{\{env\}\}/g, 'DEV');
        for (const st of splitStatements(text, file)) await dba.run(st.sql);
      }
    }
    compare('example-over-hand-made', await exportScripts(w));
  });

  it('a second release that changes tables in place (add, widen, compress, a declared rename)', async () => {
    const w = workspace();
    expect((await w.dbee('deploy', { assumeYes: true })).code).toBe(0);
    edit(w, 'schema/edw/tables/orders.sql', (t) =>
      t
        .replace('status       CHAR(1) NOT NULL,', "status       CHAR(1) NOT NULL COMPRESS ('O', 'C'),")
        .replace(
          'note         VARCHAR(500) CHARACTER SET UNICODE',
          "note         VARCHAR(2000) CHARACTER SET UNICODE,\n  channel      VARCHAR(10) DEFAULT 'web'",
        ),
    );
    edit(w, 'schema/edw/tables/customers.sql', (t) =>
      t.replace('created_at    TIMESTAMP(0)', 'created_ts    TIMESTAMP(0)'),
    );
    edit(
      w,
      'db.yaml',
      (t) =>
        `${t}renames:\n  - { kind: column, schema: '{{env}}_EDW', table: customers, from: created_at, to: created_ts }\n`,
    );
    const r = await w.dbee('plan', {
      format: 'bteq',
      out: 'out',
      allowHazards: ['table-rewrite', 'backward-incompatible', 'data-loss'],
    });
    expect(r.code, r.stderr).toBe(0);
    compare('example-alter', {
      deploy: readFileSync(join(w.root, 'out/deploy.btq'), 'utf8'),
      rollback: readFileSync(join(w.root, 'out/rollback.btq'), 'utf8'),
    });
  });
});
