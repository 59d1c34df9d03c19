import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyExamples } from './lsp-client';

/**
 * The end-to-end case with an editor users have: Debian's Neovim (`apt-get install neovim`, 0.7 or later), headless,
 * its built-in LSP client and no plugin (test/lsp/neovim.lua), starting `dbee lsp` itself. It opens a view of the
 * example workspace that names a view no project defines, receives that diagnostic, shows a hover, and jumps to a
 * definition in the other project. Without `nvim` the test fails, naming the package (as the graph page's tests do
 * without Chromium); .ci/run installs it.
 */
const REPO = join(__dirname, '..', '..');
const root = copyExamples();
afterAll(() => rmSync(root, { recursive: true, force: true }));

const FILE = 'examples/sales/schema/sales/views/customer_revenue.sql';

/** Neovim's screen as the script captured it, kept beside the test's output for docs/editor.md's picture. */
const SCREEN_FILE = join(REPO, 'dist', 'test-artifacts', 'neovim-screen.json');

describe('dbee lsp in Neovim (headless, built-in LSP client)', () => {
  it('shows the diagnostics of an opened file, a hover, and jumps to a definition in another project', async () => {
    const nvim = spawnSync('nvim', ['--version'], { encoding: 'utf8' });
    if (nvim.error)
      throw new Error('nvim is not installed: apt-get install -y neovim (Debian), then run the test again');
    const text = readFileSync(join(root, FILE), 'utf8').replace(
      'count(t.order_id) AS orders,',
      'count(t.order_id) AS orders, core.normalise_email(c.email) AS email_key,',
    );
    writeFileSync(join(root, FILE), text);
    const lines = text.split('\n');
    const definitionLine = lines.findIndex((l) => l.startsWith('FROM active_customers'));
    const hoverLine = definitionLine;
    const out = join(root, 'nvim-out.json');
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(
        'nvim',
        ['--headless', '--clean', '-u', 'NONE', '-c', `luafile ${join(__dirname, 'neovim.lua')}`],
        {
          cwd: root,
          env: {
            ...process.env,
            DBEE_NODE: process.execPath,
            DBEE_BIN: join(REPO, 'packages', 'cli', 'bin', 'dbee.js'),
            DBEE_NVIM_ROOT: root,
            DBEE_NVIM_FILE: FILE,
            DBEE_NVIM_OUT: out,
            // Neovim's cursor: 1-based line, 0-based column; on `active_customers` after `FROM `.
            DBEE_NVIM_LINE: String(definitionLine + 1),
            DBEE_NVIM_COL: String('FROM '.length + 3),
            DBEE_NVIM_HOVER_LINE: String(hoverLine + 1),
            DBEE_NVIM_HOVER_COL: String('FROM '.length + 3),
          },
          stdio: ['ignore', 'ignore', 'ignore'],
        },
      );
      child.on('exit', resolve);
    });
    const seen = JSON.parse(readFileSync(out, 'utf8')) as {
      error?: string;
      diagnostics: Array<{
        lnum: number;
        end_lnum: number;
        col: number;
        end_col: number;
        severity: number;
        code: string;
        message: string;
      }>;
      hover: string;
      file: string;
      cursor: [number, number];
      screen: string[];
      float?: { row: number; col: number; width: number; height: number };
    };
    mkdirSync(join(REPO, 'dist', 'test-artifacts'), { recursive: true });
    writeFileSync(
      SCREEN_FILE,
      JSON.stringify({ screen: seen.screen, float: seen.float, diagnostics: seen.diagnostics }, null, 2),
    );
    expect(seen.error).toBeUndefined();
    expect(code).toBe(0);
    const bad = lines.findIndex((l) => l.includes('core.normalise_email'));
    expect(seen.diagnostics).toEqual([
      {
        lnum: bad,
        end_lnum: bad,
        col: lines[bad]!.indexOf('core.normalise_email'),
        end_col: lines[bad]!.indexOf('core.normalise_email') + 'core.normalise_email'.length,
        severity: 1,
        code: 'REFERENCE_UNKNOWN',
        message:
          'function core.normalise_email is not defined in any project (schema core belongs to project core); did you mean core.normalize_email?\nhint: write core.normalize_email, defined in examples/core/schema/core/functions/normalize_email.sql:2',
      },
    ]);
    expect(seen.hover.split('\n\n')[0]).toBe('**view** `core.active_customers` (project core)');
    // The jump: core's file, on the view's name in its CREATE statement.
    expect(seen.file).toBe(join(root, 'examples/core/schema/core/views/active_customers.sql'));
    expect(seen.cursor).toEqual([1, 'CREATE OR REPLACE VIEW '.length]);
    // The screen shows the hover's floating window over the file.
    expect(seen.screen.some((row) => row.includes('view') && row.includes('core.active_customers'))).toBe(true);
  });
});
