import { afterEach, describe, expect, it } from 'vitest';
import { runDbeeCommand } from '@dbee/cli';
import { dbYaml, workspaceWith, type TestWorkspace } from '../runner/helpers';

/**
 * A command writing to the process's own stdout and stderr, not a terminal (a CI log, a pipe), sends its lines in few
 * writes, not one per line (each is a system call the process waits for), with nothing lost or reordered: a deployment
 * of N views prints two lines a step.
 */
const N = 40;

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

describe('the output of a command run as the dbee process', () => {
  it('goes to stdout in a few writes, every line in its order', async () => {
    const files: Record<string, string> = {
      'app/db.yaml': dbYaml('app'),
      'app/schema.sql': 'CREATE SCHEMA app;\n',
      'app/items.sql': 'CREATE TABLE app.items (id bigint PRIMARY KEY, qty integer NOT NULL);\n',
    };
    for (let i = 1; i <= N; i++)
      files[`app/v${i}.sql`] = `CREATE VIEW app.v${i} AS SELECT id, qty FROM app.items WHERE qty > ${i};\n`;
    const w = await workspaceWith('pglite', files);
    workspaces.push(w);

    const writes: { to: string; text: string }[] = [];
    const { stdout, stderr } = process;
    const tty = stdout.isTTY;
    const put = { out: stdout.write, err: stderr.write };
    // As under CI: not a terminal. Every write recorded instead of printed.
    stdout.isTTY = false;
    stdout.write = ((chunk: string | Uint8Array) => (writes.push({ to: 'out', text: String(chunk) }), true)) as never;
    stderr.write = ((chunk: string | Uint8Array) => (writes.push({ to: 'err', text: String(chunk) }), true)) as never;
    let code: number;
    try {
      code = await runDbeeCommand(
        'deploy',
        { project: 'app' },
        { workspaceRoot: w.root, env: { ...process.env, ...w.target.vars }, interactive: false },
      );
    } finally {
      stdout.write = put.out;
      stderr.write = put.err;
      stdout.isTTY = tty;
    }
    const out = writes
      .filter((x) => x.to === 'out')
      .map((x) => x.text)
      .join('');
    expect(code, out + writes.filter((x) => x.to === 'err').map((x) => x.text)).toBe(0);
    const steps = out.split('\n').filter((l) => /^ {2}\[\d+\/\d+\] create /.test(l));
    expect(steps).toHaveLength(N + 2);
    const views = steps.filter((l) => / create view:/.test(l)).map((l) => Number(/app\.v(\d+)/.exec(l)![1]));
    expect(views.sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    // Every step started and ended: two lines each, in order.
    const lines = out.split('\n').filter((l) => /^ {2}\[\d+\//.test(l));
    expect(lines).toHaveLength(2 * (N + 2));
    for (let i = 0; i < lines.length; i += 2) {
      expect(lines[i]).toMatch(/ create /);
      expect(lines[i + 1]).toMatch(/^ {2}\[\d+\/\d+\] ok /);
    }
    // One write per line before: now a handful (the loop turns while the embedded database works).
    expect(writes.filter((x) => x.to === 'out').length).toBeLessThan(lines.length / 4);
  });
});
