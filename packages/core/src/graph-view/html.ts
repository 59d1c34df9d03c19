import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { GraphView } from './graph-data';
import { groupsOf } from './graph-data';
import { layoutGraph, type GraphLayout } from './layout';

/**
 * The page's parts, read when a page is written and inlined into it, so that the page needs no network and no
 * other file: Cytoscape.js (drawing, interaction), elkjs and cytoscape-elk (the layered layout, also used to lay
 * out again in the page), and the page's own script and style (packages/core/assets/graph/). The libraries are
 * runtime dependencies of @dbee/core, found with `require.resolve` wherever npm put them.
 */
export function pageAssets(): {
  libraries: { name: string; text: string }[];
  script: string;
  style: string;
  template: string;
} {
  const assets = assetDir();
  return {
    libraries: [
      { name: 'cytoscape', text: readFileSync(require.resolve('cytoscape/dist/cytoscape.min.js'), 'utf8') },
      { name: 'elkjs', text: readFileSync(require.resolve('elkjs/lib/elk.bundled.js'), 'utf8') },
      { name: 'cytoscape-elk', text: readFileSync(require.resolve('cytoscape-elk'), 'utf8') },
    ],
    script: readFileSync(join(assets, 'graph-page.js'), 'utf8'),
    style: readFileSync(join(assets, 'graph-page.css'), 'utf8'),
    template: readFileSync(join(assets, 'graph-page.html'), 'utf8'),
  };
}

/** `assets/graph` of @dbee/core: beside `src/` in the repository, beside `dist/` in the published package. */
function assetDir(): string {
  for (let dir = __dirname, i = 0; i < 5; i++, dir = dirname(dir)) {
    const candidate = join(dir, 'assets', 'graph');
    if (existsSync(join(candidate, 'graph-page.js'))) return candidate;
  }
  throw new Error(
    `dbee graph: the page's assets (assets/graph/graph-page.js) are missing from @dbee/core near ${__dirname}`,
  );
}

/** What the page's script reads from `<script id="dbee-graph-data">`. */
export interface PageData {
  view: GraphView;
  layout: GraphLayout;
  filters: ReturnType<typeof groupsOf>;
}

/**
 * The whole page as one HTML string: the template with the style, the data (JSON, `<` escaped so that no source
 * text can close the script element), the libraries and the page's script inlined.
 */
export async function renderGraphPage(view: GraphView): Promise<string> {
  const layout = await layoutGraph(view);
  const data: PageData = { view, layout, filters: groupsOf(view) };
  const a = pageAssets();
  const title = `dbee graph: ${view.projects.join(', ')}`;
  const scripts = [
    ...a.libraries.map((l) => `<script data-library="${l.name}">\n${inlineScript(l.text)}\n</script>`),
    `<script>\n${inlineScript(a.script)}\n</script>`,
  ].join('\n');
  const replacements: Record<string, string> = {
    '<!--dbee:title-->': escapeHtml(title),
    '/*dbee:style*/': a.style.replace(/<\/style/gi, '<\\/style'),
    '<!--dbee:data-->': `<script id="dbee-graph-data" type="application/json">${JSON.stringify(data).replace(/</g, '\\u003c')}</script>`,
    '<!--dbee:scripts-->': scripts,
  };
  // split/join, not replace: library code is full of `$&` and `$'` that String.replace would interpret.
  return Object.entries(replacements).reduce((html, [marker, text]) => html.split(marker).join(text), a.template);
}

/**
 * A script's text made safe inside `<script>`: `</script` cannot appear literally (`<\/script` means the same in a
 * string, a regular expression or a comment). `<!--` is refused rather than rewritten (no rewrite is safe in every
 * context); none of the inlined files has one.
 */
function inlineScript(text: string): string {
  if (text.includes('<!--')) throw new Error('dbee graph: a script to inline contains "<!--"');
  return text.replace(/<\/script/gi, '<\\/script');
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
