import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDatabase } from '../support/pg';
import { run } from '../support/run';
import { copyExamples, LspClient } from './lsp-client';

/**
 * `dbee lsp` against an environment (issue 76, item 2): the example workspace deployed to a server database (`dev`),
 * then a change the editor checks there — on the command `dbee.checkEnvironment` and on save — through the commands a
 * user runs (`dbee plan --diff`, `dbee status`), read on demand, never on a keystroke.
 */
let root: string;
let db: Awaited<ReturnType<typeof scratchDatabase>>;
let c: LspClient;
const checked: Array<{ environment: string; projects: string[]; findings: number; failed: unknown[] }> = [];

const CUSTOMERS = 'examples/core/schema/core/tables/customers.sql';
const ACTIVE = 'examples/core/schema/core/views/active_customers.sql';
const original = () => readFileSync(join(REPO_EXAMPLES, 'core/schema/core/tables/customers.sql'), 'utf8');
const REPO_EXAMPLES = join(__dirname, '..', '..', 'examples');
const narrowed = () => original().replace(/email {7}text NOT NULL/, 'email       varchar(40) NOT NULL');

beforeAll(async () => {
  root = copyExamples();
  db = await scratchDatabase();
  const deployed = await run(root, 'deploy', { project: 'sales', env: 'dev' }, { DBEE_DEV_URL: db.url });
  expect(deployed.code, deployed.stderr).toBe(0);
  // The team's review policies from now on: one rule, which the change below breaks (docs/policies.md).
  writeFileSync(
    join(root, 'dbee.yaml'),
    `${readFileSync(join(root, 'dbee.yaml'), 'utf8')}\npolicies:\n  '*': off\n  type-varchar-max: { level: warning, max: 20 }\n`,
  );
  c = await LspClient.start(root, {
    env: { DBEE_DEV_URL: db.url },
    initializationOptions: { environment: 'dev', checkOnSave: true },
  });
  c.connection.onNotification('dbee/checked', (p: (typeof checked)[number]) => checked.push(p));
}, 120_000);
afterAll(async () => {
  expect(await c?.stop()).toBe(0);
  await db?.drop();
  rmSync(root, { recursive: true, force: true });
});

const checkEnvironment = (projects?: string[]) =>
  c.request('workspace/executeCommand', { command: 'dbee.checkEnvironment', arguments: [{ projects }] });

/** The diagnostics the check published (their messages name the environment). */
const fromDev = () => c.seen().filter((d) => d.message.startsWith('dev: '));

describe('dbee lsp: the saved sources checked against an environment', () => {
  it('finds nothing on the workspace as deployed, and says so', async () => {
    await checkEnvironment(['core', 'sales']);
    expect(checked.at(-1)).toEqual({ environment: 'dev', projects: ['core', 'sales'], findings: 0, failed: [] });
    expect(fromDev()).toEqual([]);
  }, 120_000);

  it("places the plan's hazards and the policies' findings at their objects, follows them through edits, and hovers the deployed state", async () => {
    await c.writeOnDisk(CUSTOMERS, narrowed(), 2);
    await checkEnvironment(['core']);
    // The policy's finding is at the column's line (it names the column), in the table's statement.
    const email = narrowed().split('\n')[2]!;
    expect(fromDev().map((d) => [d.file, d.range, d.severity, d.code])).toEqual([
      [CUSTOMERS, [0, 13, 0, 27], 2, 'hazard/table-rewrite/adding-stored-generated-or-identity'],
      [CUSTOMERS, [0, 13, 0, 27], 1, 'hazard/data-loss/column-type-loss'],
      [CUSTOMERS, [0, 13, 0, 27], 2, 'hazard/table-rewrite/changing-column-type'],
      [CUSTOMERS, [2, 2, 2, email.length], 2, 'policy/type-varchar-max'],
      // The generated column email_key is dropped and added again with email's new type: its unique index with it.
      [CUSTOMERS, [10, 20, 10, 43], 2, 'hazard/index-build/index-build'],
      [CUSTOMERS, [10, 20, 10, 43], 2, 'hazard/long-lock/require-concurrent-index-creation'],
      [ACTIVE, [0, 23, 0, 44], 2, 'hazard/backward-incompatible/changing-view-columns'],
    ]);
    expect(fromDev()[1]!.message).toMatch(
      /^dev: step \d+ alter table:core\.customers: data-loss: changes core\.customers\.email from text to character varying\(40\)/,
    );

    // Two lines typed above the table in the editor: the diagnostics move with its name, no database is read.
    const before = checked.length;
    await c.open(CUSTOMERS, `-- the accounts\n\n${narrowed()}`);
    expect(
      fromDev()
        .filter((d) => d.file === CUSTOMERS)
        .map((d) => d.range),
    ).toEqual([
      [2, 13, 2, 27],
      [2, 13, 2, 27],
      [2, 13, 2, 27],
      [4, 2, 4, email.length],
      [12, 20, 12, 43],
      [12, 20, 12, 43],
    ]);
    expect(checked.length).toBe(before);

    const hover = await c.request<{ contents: { value: string } }>('textDocument/hover', {
      textDocument: { uri: c.uri(CUSTOMERS) },
      position: { line: 2, character: 20 },
    });
    expect(hover.contents.value).toMatch(
      /\*\*dev\*\* \(checked [^)]+\): last deployment of core #1 \(deploy, succeeded\) at \S+ by \S+; this object is \*\*pending\*\*: the saved sources change it there$/,
    );
  }, 120_000);

  // The file is open in the editor since the test before.
  it('checks the saved file again on save: the change undone, its findings are gone', async () => {
    writeFileSync(join(root, CUSTOMERS), original());
    const done = new Promise<void>((resolve) => {
      const n = checked.length;
      const timer = setInterval(() => checked.length > n && (clearInterval(timer), resolve()), 50);
    });
    await c.change(CUSTOMERS, original());
    await c.connection.sendNotification('textDocument/didSave', { textDocument: { uri: c.uri(CUSTOMERS) } });
    await done;
    expect(checked.at(-1)).toMatchObject({ projects: ['core'], findings: 0, failed: [] });
    expect(fromDev()).toEqual([]);
  }, 120_000);

  it("a project that cannot be checked is named with the command's error; the server goes on", async () => {
    await checkEnvironment(['nope']);
    expect(checked.at(-1)).toMatchObject({ projects: ['nope'], failed: [{ project: 'nope' }] });
    expect((checked.at(-1)!.failed[0] as { error: string }).error).toMatch(/nope/);
    expect(c.log.join('\n')).toMatch(/nope could not be checked against/);
    const symbols = await c.request<unknown[]>('textDocument/documentSymbol', { textDocument: { uri: c.uri(ACTIVE) } });
    expect(symbols.length).toBeGreaterThan(0);
  }, 120_000);
});
