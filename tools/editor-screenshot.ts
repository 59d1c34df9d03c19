/**
 * docs/editor-neovim.png: the picture of docs/editor.md, made from what the Neovim test saw (test/lsp/neovim.test.ts
 * writes Neovim's screen grid, with the hover's floating window laid over it, to dist/test-artifacts/neovim-screen.json).
 * The grid is drawn as a terminal would, in Debian's Chromium, and captured:
 *
 *   npx vitest run test/lsp/neovim.test.ts && node tools/run.js tools/editor-screenshot.ts
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from '../test/graph/browser';

interface Capture {
  screen: string[];
  float?: { row: number; col: number; width: number; height: number };
  diagnostics: Array<{ lnum: number; col: number; end_col: number }>;
}

const REPO = join(__dirname, '..');
const capture = JSON.parse(readFileSync(join(REPO, 'dist', 'test-artifacts', 'neovim-screen.json'), 'utf8')) as Capture;
const out = join(REPO, 'docs', 'editor-neovim.png');

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** The sign column Neovim draws left of the text (`E ` where a line has an error). */
const SIGNS = 2;

function row(text: string, r: number): string {
  const chars = [...text];
  const cls = new Array<string>(chars.length).fill('');
  const f = capture.float;
  for (const d of capture.diagnostics)
    if (d.lnum === r) {
      for (let c = d.col + SIGNS; c < d.end_col + SIGNS; c++) cls[c] = 'error-range';
      const mark = chars.indexOf('■');
      if (mark >= 0) for (let c = mark; c < chars.length; c++) cls[c] = 'virtual';
      cls[0] = 'sign';
    }
  if (text.startsWith('~')) cls[0] = 'tilde';
  if (f && r >= f.row && r < f.row + f.height)
    for (let c = f.col; c < f.col + f.width && c < chars.length; c++) cls[c] = 'float';
  if (r === capture.screen.length - 2) cls.fill('status');
  let html = '';
  for (let i = 0; i < chars.length; i++) {
    const ch = escapeHtml(chars[i] ?? ' ');
    html += cls[i] ? `<span class="${cls[i]}">${ch}</span>` : ch;
  }
  return html;
}

async function main(): Promise<void> {
  const page = `<!doctype html><meta charset="utf-8"><style>
  body { margin: 0; background: #1e1e1e; }
  pre { margin: 0; padding: 12px; font: 14px/1.35 "DejaVu Sans Mono", monospace; color: #d4d4d4; display: inline-block; }
  .error-range { text-decoration: underline wavy #f14c4c; }
  .virtual, .sign { color: #f14c4c; }
  .tilde { color: #4f6fad; }
  .float { background: #2d2d30; color: #e0e0e0; }
  .status { background: #d4d4d4; color: #1e1e1e; }
  </style><pre>${capture.screen.map(row).join('\n')}</pre>`;
  const chromium = await launchChromium();
  try {
    const tab = await chromium.context.newPage();
    await tab.setContent(page);
    await (await tab.$('pre'))!.screenshot({ path: out });
  } finally {
    await chromium.close();
  }
  console.log(`written ${out}`);
}

void main();
