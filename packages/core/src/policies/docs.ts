import type { z } from 'zod';
import { POLICY_RULES } from './catalogue';
import type { PolicyCategory } from './rule';

const CATEGORY_TITLES: Record<PolicyCategory, string> = {
  naming: 'Naming',
  keys: 'Keys and references',
  columns: 'Columns',
  types: 'Types',
  indexes: 'Indexes',
  comments: 'Comments',
  views: 'Views',
  routines: 'Functions and procedures',
  security: 'Security',
  migrations: 'Migrations',
};

/** The rule catalogue of docs/policies.md, from the rules themselves (`npm run generate:executor-schemas` writes it). */
export function policiesMarkdown(): string {
  const out: string[] = [];
  for (const [category, title] of Object.entries(CATEGORY_TITLES) as [PolicyCategory, string][]) {
    const rules = POLICY_RULES.filter((r) => r.category === category);
    if (!rules.length) continue;
    out.push(
      `### ${title}`,
      '',
      '| rule | default | engines | what it asks | parameters (defaults) | Bytebase |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    for (const r of rules) {
      const defaults = (r.params as z.ZodType).parse({}) as Record<string, unknown>;
      const params = Object.entries(defaults)
        .map(([k, v]) => `\`${k}: ${JSON.stringify(v)}\``)
        .join(', ');
      out.push(
        `| \`${r.name}\` | ${r.defaultLevel} | ${r.engines.join(', ')} | ${cell(r.summary)} ${cell(r.why)} | ${params || 'none'} | ${r.bytebase ? `\`${r.bytebase}\`` : '-'} |`,
      );
    }
    out.push('');
  }
  return out.join('\n');
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
