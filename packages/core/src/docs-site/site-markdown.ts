import { type DocsObject, type DocsSite, pageName } from './docs-data';
import { erMermaid } from './er-diagram';
import { segment } from './site-html';

/**
 * The site as Markdown (`--format markdown`), for a repository browser: README.md (projects and comment coverage),
 * <project>/README.md, <project>/<schema>/README.md with the schema's Mermaid ER diagram, and one page per table and
 * view with its columns (as tbls writes them). Other objects are listed with their source line.
 */
export function renderMarkdown(site: DocsSite): Map<string, string> {
  const files = new Map<string, string>();
  const byKey = new Map([...site.objects, ...site.external].map((o) => [o.key, o]));
  const documented = new Set(site.objects.map((o) => o.key));
  const pathOf = (o: DocsObject) =>
    `${segment(o.project)}/${segment(o.schema || '_')}/${pageName(o.key).replace(/\.html$/, '.md')}`;
  const hasPage = (o: DocsObject) =>
    documented.has(o.key) && (o.kind === 'table' || o.kind === 'view' || o.kind === 'materialized-view');
  const ref = (from: string, key: string) => {
    const o = byKey.get(key);
    if (!o || !hasPage(o)) return `\`${key}\``;
    return `[${o.schema}.${o.name}](${'../'.repeat(from.split('/').length - 1)}${pathOf(o)})`;
  };
  files.set(
    'README.md',
    [
      '# Databases',
      '',
      '| project | engine | depends on | tables | comment coverage |',
      '| --- | --- | --- | --- | --- |',
      ...site.projects.map((p) => {
        const tables = site.objects.filter((o) => o.project === p.name && o.kind === 'table').length;
        const cov = p.coverage.total
          ? `${Math.round((p.coverage.commented / p.coverage.total) * 100)}% (${p.coverage.commented}/${p.coverage.total})`
          : 'n/a';
        return `| [${p.name}](${segment(p.name)}/README.md) | ${p.engine} | ${p.dependsOn.join(', ') || '—'} | ${tables} | ${cov} |`;
      }),
      '',
    ].join('\n'),
  );
  for (const p of site.projects) {
    files.set(
      `${segment(p.name)}/README.md`,
      [
        `# ${p.name}`,
        '',
        `Engine ${p.engine}; depends on ${p.dependsOn.join(', ') || 'nothing'}.`,
        '',
        ...p.schemas.map((s) => `- [${s.name}](${segment(s.name || '_')}/README.md): ${s.objects.length} objects`),
        '',
        ...(p.smoke.length
          ? ['## Smoke checks', '', ...p.smoke.map((c) => `- ${c.name} (\`${c.file}:${c.line}\`)`), '']
          : []),
      ].join('\n'),
    );
    for (const s of p.schemas) {
      const dir = `${segment(p.name)}/${segment(s.name || '_')}`;
      const objects = s.objects.map((k) => byKey.get(k)!);
      const tables = objects.filter((o) => o.kind === 'table');
      const lines = [`# ${s.name}`, '', `Project [${p.name}](../README.md).`, ''];
      // Tables of other schemas that these reference are drawn too, as on the HTML page.
      const outside = [...new Set(tables.flatMap((t) => t.reads))]
        .filter((k) => k.startsWith('table:') && !tables.some((t) => t.key === k) && byKey.has(k))
        .map((k) => byKey.get(k)!);
      if (tables.length) lines.push('## Diagram', '', erMermaid([...tables, ...outside]), '');
      lines.push('## Objects', '', '| kind | name | comment | source |', '| --- | --- | --- | --- |');
      for (const o of objects)
        lines.push(
          `| ${o.kind} | ${hasPage(o) ? ref(`${dir}/README.md`, o.key) : `${o.name}${o.parent ? ` on ${o.parent}` : ''}`} | ${cell(o.comment ?? '')} | \`${o.file}:${o.line}\` |`,
        );
      files.set(`${dir}/README.md`, `${lines.join('\n')}\n`);
      for (const o of objects.filter(hasPage)) {
        const here = pathOf(o);
        files.set(
          here,
          objectMarkdown(o, p.name, (k) => ref(here, k)),
        );
      }
    }
  }
  for (const v of site.viewpoints) {
    const tables = v.tables.map((k) => byKey.get(k)).filter((t): t is DocsObject => !!t);
    files.set(
      `viewpoints/${segment(v.id)}.md`,
      [
        `# ${v.name}`,
        '',
        v.description,
        '',
        erMermaid(tables),
        '',
        ...tables.map((t) => `- ${ref(`viewpoints/${segment(v.id)}.md`, t.key)}`),
        '',
      ].join('\n'),
    );
  }
  return files;
}

/** One table's or view's page: its columns (as tbls writes them), keys, indexes, readers and source. */
function objectMarkdown(o: DocsObject, project: string, ref: (key: string) => string): string {
  const md = [
    `# ${o.schema}.${o.name}`,
    '',
    `${o.kind} of [${project}](../README.md), defined at \`${o.file}:${o.line}\`.`,
    '',
  ];
  if (o.comment) md.push(`> ${o.comment.replace(/\n/g, '\n> ')}`, '');
  md.push(
    '## Columns',
    '',
    '| name | type | nullable | default | key | comment |',
    '| --- | --- | --- | --- | --- | --- |',
  );
  for (const c of o.columns)
    md.push(
      `| ${cell(c.name)} | \`${cell(c.type)}\` | ${c.notNull ? 'not null' : 'null'} | ${c.default ? `\`${cell(c.default)}\`` : ''} | ${c.primaryKey ? 'PK' : ''}${c.references ? ` FK → ${cell(c.references)}` : ''} | ${cell(c.comment ?? '')} |`,
    );
  for (const [title, rows] of [
    ['Constraints', o.constraints],
    ['Indexes', o.indexes],
    ['Triggers', o.triggers],
    ['Policies', o.policies],
  ] as const)
    if (rows.length) md.push('', `## ${title}`, '', ...rows.map((r) => `- ${r.name}: \`${cell(r.definition)}\``));
  if (o.reads.length) md.push('', '## Reads', '', ...o.reads.map((k) => `- ${ref(k)}`));
  if (o.readBy.length) md.push('', '## Read by', '', ...o.readBy.map((k) => `- ${ref(k)}`));
  if (o.findings.length)
    md.push('', '## Schema review findings', '', ...o.findings.map((f) => `- ${f.level} [${f.rule}] ${f.message}`));
  md.push('', '## Source', '', '```sql', o.source, '```', '');
  return md.join('\n');
}

/** Text for a Markdown table cell. */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
