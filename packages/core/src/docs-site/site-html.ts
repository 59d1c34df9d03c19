import type { BoardCell, BoardDeployment, DocsBoard } from './board-data';
import { type DocsObject, type DocsProject, type DocsSite, type DocsViewpoint, cmp, pageName } from './docs-data';
import { erSvg } from './er-diagram';
import { SEARCH_SCRIPT, SITE_STYLE } from './site-assets';

/**
 * The HTML site: plain pages that work from the file system (no server, no network), linked relatively, so the folder
 * can be opened, copied or published anywhere. Returns file → text, paths relative to the site's folder.
 *
 * index.html (projects, comment coverage, viewpoints, the board) · <project>/index.html · <project>/<schema>/index.html
 * (the schema's ER diagram and its objects) · <project>/<schema>/<kind>.<schema>.<name>.html (one object) ·
 * viewpoints/<id>.html · board.html (with --env) · assets/ (style, search and its index).
 */
/** The release board's page (`dbee docs --env`), beside the pages of the sources. */
export const BOARD_PAGE = 'board.html';

/**
 * `boardLinked`: whether the pages link to the board, by default when `site` has one. The caller says so when a board
 * an earlier `--env` run wrote is beside the pages: a page is then the same with or without `--env` (the sources alone
 * decide it), so `--check` and a write from the sources agree with a site that has a board.
 */
export function renderSite(site: DocsSite, boardLinked = site.board !== null): Map<string, string> {
  const files = new Map<string, string>();
  const byKey = new Map([...site.objects, ...site.external].map((o) => [o.key, o]));
  const documented = new Set(site.objects.map((o) => o.key));
  const pathOf = (key: string): string | null => {
    if (!documented.has(key)) return null;
    const o = byKey.get(key)!;
    return `${segment(o.project)}/${segment(o.schema || '_')}/${pageName(key)}`;
  };
  const page = (path: string, title: string, body: string) => files.set(path, layout(path, title, body, boardLinked));

  page('index.html', 'Databases', indexBody(site, boardLinked));
  for (const p of site.projects) {
    page(`${segment(p.name)}/index.html`, `Project ${p.name}`, projectBody(p, site, byKey));
    for (const s of p.schemas) {
      const dir = `${segment(p.name)}/${segment(s.name || '_')}`;
      const objects = s.objects.map((k) => byKey.get(k)!);
      page(`${dir}/index.html`, `Schema ${s.name} (${p.name})`, schemaBody(dir, p, objects, byKey, pathOf));
      for (const o of objects)
        page(pathOf(o.key)!, `${o.kind} ${o.schema}.${o.name}`, objectBody(pathOf(o.key)!, o, byKey, pathOf));
    }
  }
  for (const v of site.viewpoints)
    page(`viewpoints/${segment(v.id)}.html`, `Viewpoint ${v.name}`, viewpointBody(v, byKey, pathOf));
  if (site.board) page(BOARD_PAGE, 'Release board', boardBody(site.board));
  files.set('assets/site.css', SITE_STYLE);
  files.set('assets/search.js', SEARCH_SCRIPT);
  const index = site.objects.map((o) => [
    `${o.schema ? `${o.schema}.` : ''}${o.name}`,
    o.kind,
    o.project,
    pathOf(o.key),
  ]);
  files.set('assets/search-index.js', `window.dbeeSearchIndex = ${JSON.stringify(index).replace(/</g, '\\u003c')};\n`);
  return files;
}

type PathOf = (key: string) => string | null;

function layout(path: string, title: string, body: string, board: boolean): string {
  const root = rootOf(path);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · dbee docs</title>
<link rel="stylesheet" href="${root}assets/site.css">
</head>
<body data-root="${root}">
<header><a class="home" href="${root}index.html">dbee docs</a>${board ? ` <a href="${root}board.html">release board</a>` : ''}
<input id="search" type="search" placeholder="Search objects…" autocomplete="off" aria-label="Search every object name"><ol id="search-results"></ol></header>
<main>
<h1>${esc(title)}</h1>
${body}
</main>
<script src="${root}assets/search-index.js"></script>
<script src="${root}assets/search.js"></script>
</body>
</html>
`;
}

/** `../` once per folder of `path`: the way back to the site's root. */
function rootOf(path: string): string {
  return '../'.repeat(path.split('/').length - 1);
}

/** `to` (from the site's root) as a link from the page at `from`. */
function rel(from: string, to: string): string {
  return rootOf(from) + to;
}

function link(from: string, key: string, pathOf: PathOf, label?: string): string {
  const to = pathOf(key);
  const text = esc(label ?? key);
  return to
    ? `<a href="${esc(rel(from, to))}">${text}</a>`
    : `<span class="outside" title="not documented here">${text}</span>`;
}

function coverage(p: DocsProject): string {
  const { commented, total } = p.coverage;
  return total ? `${Math.round((commented / total) * 100)}% (${commented}/${total})` : 'n/a';
}

function indexBody(site: DocsSite, boardLinked: boolean): string {
  const rows = site.projects.map((p) => {
    const objects = p.schemas.reduce((n, s) => n + s.objects.length, 0);
    const tables = site.objects.filter((o) => o.project === p.name && o.kind === 'table').length;
    return `<tr><td><a href="${segment(p.name)}/index.html">${esc(p.name)}</a></td><td>${esc(p.engine)}</td><td>${p.dependsOn.map(esc).join(', ') || '—'}</td><td class="n">${objects}</td><td class="n">${tables}</td><td class="n">${coverage(p)}</td><td class="n">${p.smoke.length}</td><td class="n">${findingCount(p, site)}</td></tr>`;
  });
  const views = site.viewpoints.map(
    (v) =>
      `<li><a href="viewpoints/${segment(v.id)}.html">${esc(v.name)}</a> (${esc(v.project)}, ${v.tables.length} tables) — ${esc(v.description)}</li>`,
  );
  return `<table class="list"><thead><tr><th>project</th><th>engine</th><th>depends on</th><th>objects</th><th>tables</th><th>comment coverage</th><th>smoke checks</th><th>policy findings</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>
<h2>Viewpoints</h2><ul>${views.join('\n')}</ul>
${boardLinked ? '<p><a href="board.html">Release board</a>: what is deployed where.</p>' : ''}`;
}

function findingCount(p: DocsProject, site: DocsSite): number {
  return (
    p.findings.length + site.objects.filter((o) => o.project === p.name).reduce((n, o) => n + o.findings.length, 0)
  );
}

function projectBody(p: DocsProject, site: DocsSite, byKey: Map<string, DocsObject>): string {
  const here = `${segment(p.name)}/index.html`;
  const schemas = p.schemas.map((s) => {
    const kinds = new Map<string, number>();
    for (const k of s.objects) kinds.set(byKey.get(k)!.kind, (kinds.get(byKey.get(k)!.kind) ?? 0) + 1);
    const counts = [...kinds].sort(([a], [b]) => cmp(a, b)).map(([k, n]) => `${n} ${k}`);
    return `<li><a href="${segment(s.name || '_')}/index.html">${esc(s.name || '(cluster)')}</a>: ${esc(counts.join(', '))}</li>`;
  });
  const smoke = p.smoke.map(
    (c) =>
      `<tr><td>${esc(c.name)}</td><td>${esc(c.kind)}</td><td><code>${esc(c.file ?? '')}${c.line ? `:${c.line}` : ''}</code></td><td><pre>${esc(c.text)}</pre></td></tr>`,
  );
  const own = site.viewpoints.filter((v) => v.project === p.name);
  const findings = [...p.findings, ...site.objects.filter((o) => o.project === p.name).flatMap((o) => o.findings)];
  return `<p>Engine ${esc(p.engine)}; folder <code>${esc(p.root)}</code>; depends on ${p.dependsOn.map((d) => `<a href="${rel(here, `${segment(d)}/index.html`)}">${esc(d)}</a>`).join(', ') || 'nothing'}.</p>
<p>Comment coverage: <strong>${coverage(p)}</strong> of tables, views and their columns.</p>
<h2>Schemas</h2><ul>${schemas.join('\n')}</ul>
<h2>Diagrams</h2><ul>${own.map((v) => `<li><a href="${rel(here, `viewpoints/${segment(v.id)}.html`)}">${esc(v.name)}</a> — ${esc(v.description)}</li>`).join('\n')}</ul>
<h2>Smoke checks</h2>${smoke.length ? `<table class="list"><thead><tr><th>check</th><th>kind</th><th>where</th><th>runs</th></tr></thead><tbody>${smoke.join('\n')}</tbody></table>` : '<p>None.</p>'}
<h2>Schema review findings</h2>${findingsList(findings)}`;
}

function findingsList(findings: DocsObject['findings']): string {
  if (!findings.length) return '<p>None.</p>';
  return `<ul class="findings">${findings
    .map(
      (f) =>
        `<li class="${f.level}"><strong>${esc(f.level)}</strong> [${esc(f.rule)}] ${esc(f.message)}${f.file ? ` <code>${esc(f.file)}:${f.line}</code>` : ''}</li>`,
    )
    .join('\n')}</ul>`;
}

function schemaBody(
  dir: string,
  p: DocsProject,
  objects: DocsObject[],
  byKey: Map<string, DocsObject>,
  pathOf: PathOf,
): string {
  const here = `${dir}/index.html`;
  const tables = objects.filter((o) => o.kind === 'table');
  const outside = new Set<string>();
  for (const t of tables)
    for (const r of t.reads)
      if (r.startsWith('table:') && !tables.some((x) => x.key === r) && byKey.has(r)) outside.add(r);
  const drawn = [...tables, ...[...outside].map((k) => byKey.get(k)!)];
  const diagram = tables.length
    ? `<h2>Diagram</h2><p class="note">${tables.length} tables${outside.size ? ` and ${outside.size} referenced from other schemas (dashed)` : ''}; every box links to its table.</p><div class="diagram">${erSvg(drawn, (k) => (pathOf(k) ? rel(here, pathOf(k)!) : null), outside)}</div>`
    : '';
  const rows = objects.map(
    (o) =>
      `<tr><td>${esc(o.kind)}</td><td>${link(here, o.key, pathOf, o.parent ? `${o.name} on ${o.parent}` : o.name)}</td><td>${esc(o.comment ?? '')}</td><td><code>${esc(o.file)}:${o.line}</code></td></tr>`,
  );
  return `<p>Project <a href="../index.html">${esc(p.name)}</a>.</p>
${diagram}
<h2>Objects</h2><table class="list"><thead><tr><th>kind</th><th>name</th><th>comment</th><th>source</th></tr></thead><tbody>${rows.join('\n')}</tbody></table>`;
}

function objectBody(here: string, o: DocsObject, byKey: Map<string, DocsObject>, pathOf: PathOf): string {
  const parts: string[] = [
    `<p class="meta">${esc(o.kind)} of project <a href="${rel(here, `${segment(o.project)}/index.html`)}">${esc(o.project)}</a>, schema <a href="index.html">${esc(o.schema)}</a>${o.parent ? `, on ${link(here, `table:${o.parent}`, pathOf, o.parent)}` : ''}; defined at <code>${esc(o.file)}:${o.line}</code>.</p>`,
  ];
  if (o.comment) parts.push(`<p class="comment">${esc(o.comment)}</p>`);
  if (o.columns.length)
    parts.push(
      `<h2>Columns</h2><table class="list"><thead><tr><th>name</th><th>type</th><th>nullable</th><th>default</th><th>key</th><th>comment</th></tr></thead><tbody>${o.columns
        .map(
          (c) =>
            `<tr><td>${esc(c.name)}</td><td><code>${esc(c.type)}</code></td><td>${c.notNull ? 'not null' : 'null'}</td><td><code>${esc(c.default ?? '')}</code></td><td>${c.primaryKey ? 'PK ' : ''}${c.references ? `FK → ${link(here, `table:${c.references.slice(0, c.references.indexOf('('))}`, pathOf, c.references)}` : ''}</td><td>${esc(c.comment ?? '')}</td></tr>`,
        )
        .join('\n')}</tbody></table>`,
    );
  const section = (title: string, rows: { name: string; definition: string }[]) =>
    rows.length &&
    parts.push(
      `<h2>${title}</h2><table class="list"><tbody>${rows.map((r) => `<tr><td>${esc(r.name)}</td><td><code>${esc(r.definition)}</code></td></tr>`).join('\n')}</tbody></table>`,
    );
  section('Constraints', o.constraints);
  section('Indexes', o.indexes);
  section('Triggers', o.triggers);
  section('Policies', o.policies);
  if (o.grants.length)
    parts.push(`<h2>Grants</h2><ul>${o.grants.map((g) => `<li><code>${esc(g)}</code></li>`).join('')}</ul>`);
  const refs = (keys: string[]) =>
    keys.length
      ? `<ul>${keys.map((k) => `<li>${link(here, k, pathOf)}${byKey.get(k) && byKey.get(k)!.project !== o.project ? ` <span class="project">(${esc(byKey.get(k)!.project)})</span>` : ''}</li>`).join('')}</ul>`
      : '<p>None.</p>';
  parts.push(`<h2>Reads</h2>${refs(o.reads)}`, `<h2>Read by</h2>${refs(o.readBy)}`);
  parts.push(
    `<h2>Smoke checks</h2>${o.smoke.length ? `<ul>${o.smoke.map((s) => `<li>${esc(s)}</li>`).join('')}</ul>` : '<p>None names it.</p>'}`,
  );
  parts.push(`<h2>Schema review findings</h2>${findingsList(o.findings)}`);
  parts.push(`<h2>Source</h2><p><code>${esc(o.file)}:${o.line}</code></p><pre class="sql">${esc(o.source)}</pre>`);
  return parts.join('\n');
}

function viewpointBody(v: DocsViewpoint, byKey: Map<string, DocsObject>, pathOf: PathOf): string {
  const here = `viewpoints/${segment(v.id)}.html`;
  const tables = v.tables.map((k) => byKey.get(k)).filter((t): t is DocsObject => !!t);
  const outside = new Set(tables.filter((t) => t.project !== v.project).map((t) => t.key));
  return `<p>${esc(v.description)}</p><p class="note">Declared by project <a href="${rel(here, `${segment(v.project)}/index.html`)}">${esc(v.project)}</a>; ${tables.length} tables${outside.size ? `, ${outside.size} of other projects (dashed)` : ''}.</p>
<div class="diagram">${erSvg(tables, (k) => (pathOf(k) ? rel(here, pathOf(k)!) : null), outside)}</div>
<ul>${tables.map((t) => `<li>${link(here, t.key, pathOf, `${t.schema}.${t.name}`)}</li>`).join('\n')}</ul>`;
}

function boardBody(board: DocsBoard): string {
  const cell = (c: BoardCell | undefined) => {
    if (!c) return '<td></td>';
    if (!c.reachable)
      return `<td class="cell unreachable" data-env="${esc(c.environment)}" data-project="${esc(c.project)}"><strong>not reachable</strong><br><small>${esc(c.error ?? '')}</small></td>`;
    const d = c.deployed;
    const lines = [
      d ? `<strong>${esc(d.package ?? 'from sources')}</strong>` : '<strong>nothing deployed</strong>',
      d ? `commit <code>${esc(d.commit?.slice(0, 12) ?? 'unknown')}</code>` : '',
      d ? `${esc(d.finishedAt ?? d.startedAt)} by ${esc(d.by)}` : '',
      d?.ticket ? `ticket ${esc(d.ticket)}` : '',
      d ? `smoke: ${esc(d.smoke)}` : '',
      `drift: <span class="drift-${c.drift.replace(' ', '-')}">${esc(c.drift)}</span>`,
      `pending: ${c.pending.length ? `${c.pending.length} <small>(${esc(c.pending.slice(0, 5).join(', '))}${c.pending.length > 5 ? ', …' : ''})</small>` : 'none'}`,
      c.lastFailure
        ? `<span class="failed">last ${esc(c.lastFailure.result)}: #${c.lastFailure.id} ${esc(c.lastFailure.startedAt)}${c.lastFailure.error ? ` — ${esc(c.lastFailure.error.split('\n')[0]!)}` : ''}</span>`
        : '',
      ...c.inFlight.map((f) => `<span class="in-flight">in flight: ${esc(f)}</span>`),
    ];
    return `<td class="cell" data-env="${esc(c.environment)}" data-project="${esc(c.project)}">${lines.filter(Boolean).join('<br>')}</td>`;
  };
  const head = `<tr><th>project</th>${board.environments.map((e) => `<th>${esc(e)}</th>`).join('')}</tr>`;
  const rows = board.projects.map(
    (p) =>
      `<tr><th>${esc(p)}</th>${board.environments.map((e) => cell(board.cells.find((c) => c.environment === e && c.project === p))).join('')}</tr>`,
  );
  const timeline = board.projects.map((p) => {
    const releases = board.releases.filter((r) => r.project === p);
    const history = board.history.filter((d) => d.project === p);
    const rel = releases.map((r) => {
      const waits = board.environments.map((e, i) => {
        const t = r.reached[e];
        const before = i > 0 ? r.reached[board.environments[i - 1]!] : undefined;
        return t ? `${esc(t)}${t && before ? ` <small>(waited ${waited(before, t)})</small>` : ''}` : '—';
      });
      return `<tr><td><code>${esc(r.release)}</code></td>${waits.map((w) => `<td>${w}</td>`).join('')}</tr>`;
    });
    return `<h3 id="history-${esc(p)}">${esc(p)}</h3>
<table class="list"><thead><tr><th>release</th>${board.environments.map((e) => `<th>${esc(e)}</th>`).join('')}</tr></thead><tbody>${rel.join('\n') || '<tr><td colspan="9">no successful deployment</td></tr>'}</tbody></table>
<details><summary>${history.length} deployments</summary><ol class="timeline">${history.map(historyItem).join('\n')}</ol></details>`;
  });
  return `<table class="board"><thead>${head}</thead><tbody>${rows.join('\n')}</tbody></table>
<h2>History</h2>
${timeline.join('\n')}`;
}

function historyItem(d: BoardDeployment): string {
  return `<li class="${esc(d.result)}"><code>${esc(d.startedAt)}</code> ${esc(d.environment)} #${d.id} ${esc(d.kind)} <strong>${esc(d.result)}</strong> ${esc(d.package ?? 'from sources')}${d.commit ? ` commit <code>${esc(d.commit.slice(0, 12))}</code>` : ''} by ${esc(d.by)}${d.ticket ? `, ticket ${esc(d.ticket)}` : ''}; smoke ${esc(d.smoke)}</li>`;
}

function waited(from: string, to: string): string {
  const ms = Date.parse(to) - Date.parse(from);
  if (!Number.isFinite(ms)) return '?';
  const h = ms / 3_600_000;
  return h >= 48
    ? `${Math.round(h / 24)} d`
    : h >= 1
      ? `${Math.round(h)} h`
      : `${Math.max(0, Math.round(ms / 60_000))} min`;
}

/** A folder name from a project or schema name (its characters outside `[A-Za-z0-9_.-]` become `_`). */
export function segment(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '_');
}

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
