import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { GraphView } from '@dbee/core/src/graph-view/graph-data';
import { run } from '../support/run';

const REPO = join(__dirname, '..', '..');
const root = mkdtempSync(join(tmpdir(), 'dbee-graph-base-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('dbee graph --base', () => {
  it('colours what changed since a git ref (no database), and refuses --head without --base', async () => {
    cpSync(join(REPO, 'examples', 'core'), join(root, 'examples', 'core'), { recursive: true });
    cpSync(join(REPO, 'examples', 'sales'), join(root, 'examples', 'sales'), { recursive: true });
    cpSync(join(REPO, 'dbee.yaml'), join(root, 'dbee.yaml'));
    const git = (...args: string[]) => execFileSync('git', args, { cwd: root, stdio: 'pipe' });
    git('init', '-q');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'add', '.');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'base');
    const fn = join(root, 'examples/sales/schema/sales/functions/line_amount.sql');
    writeFileSync(fn, readFileSync(fn, 'utf8').replace('SELECT round', 'SELECT 0 + round'));

    const r = await run(root, 'graph', { project: 'sales', base: 'HEAD', format: 'json' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const view = JSON.parse(r.stdout) as GraphView;
    expect(view.impact).toMatchObject({ from: 'HEAD', to: 'working tree' });
    const changed = view.nodes.filter((n) => n.impact !== 'unchanged').map((n) => [n.key, n.impact]);
    expect(changed).toEqual([['function:sales.line_amount(integer,numeric)', 'replaced']]);
    expect(view.nodes.filter((n) => n.impact === 'unchanged').length).toBe(view.nodes.length - 1);

    const bad = await run(root, 'graph', { project: 'sales', head: 'HEAD' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--head needs --base');
  });
});
