import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { MIGRATIONS_DIR } from '../sources/discover';
import { queryLabel } from './query-label';
import type { StatisticsReport } from './collect-statistics';
import type { AdviseReport } from './report';

/**
 * `dbee advise --write`: each proven index as an object source (`schema/<schema>/indexes/<name>.sql`), each extended
 * statistics object as a migration with its rollback (the diff does not compare extended statistics), with a comment
 * naming the queries and the cost they gain. Nothing is applied: the files go through review, the plan, the dry run
 * and the gates like any change. Files that exist are left alone (and said). Returns the files written, relative.
 */
export function writeAdvice(
  report: AdviseReport,
  project: { root: string; name: string },
  workspaceRoot: string,
  environment: string,
): { written: string[]; kept: string[] } {
  const written: string[] = [];
  const kept: string[] = [];
  const put = (path: string, text: string) => {
    const shown = relative(workspaceRoot, path);
    if (existsSync(path)) {
      kept.push(shown);
      return;
    }
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
    written.push(shown);
  };
  for (const m of report.missingIndexes) {
    const lines = [
      `-- Advised by \`dbee advise ${project.name} --env ${environment}\`: the planner's cost with this index as a`,
      `-- hypothetical one (HypoPG), generic plans, ${m.tableRows} rows in ${m.index.schema}.${m.index.table}:`,
      ...m.queries.map(
        (q) =>
          `--   ${queryLabel(q)}: ${q.before.toFixed(1)} -> ${q.after.toFixed(1)} (-${Math.round((1 - q.after / q.before) * 100)}%)`,
      ),
      `${m.statement};`,
      '',
    ];
    put(join(project.root, 'schema', m.index.schema, 'indexes', `${m.index.name}.sql`), lines.join('\n'));
  }
  let version = nextVersion(join(project.root, MIGRATIONS_DIR));
  for (const e of report.statistics.extended) {
    const base = join(project.root, MIGRATIONS_DIR, `V${version}__statistics_${e.statistics.name}`);
    put(
      `${base}.sql`,
      [
        `-- Advised by \`dbee advise ${project.name} --env ${environment}\`: ${e.statistics.columns.join(' and ')} of`,
        `-- ${e.statistics.schema}.${e.statistics.table} are filtered together and one mostly determines the other, so the`,
        `-- planner underestimates their rows. Queries: ${e.queries.join(', ')}.`,
        `${e.statement};`,
        `${e.analyze};`,
        '',
      ].join('\n'),
    );
    put(`${base}.rollback.sql`, `${e.rollback};\n`);
    version++;
  }
  return { written, kept };
}

/** One more than the highest major version among the V/U files of a migrations folder. */
function nextVersion(dir: string): number {
  let max = 0;
  for (const f of existsSync(dir) ? readdirSync(dir) : []) {
    const m = /^[VU](\d+)(?:[._]\d+)*__.+\.sql$/.exec(f);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max + 1;
}

/**
 * `dbee advise --write` on an engine with statistics advice only: one migration collecting every statistic advised
 * (missing and stale), with its rollback script dropping those it adds. Returns the files written, relative.
 */
export function writeStatisticsAdvice(
  report: StatisticsReport,
  project: { root: string; name: string },
  workspaceRoot: string,
  environment: string,
): string[] {
  if (!report.collect.length) return [];
  const base = join(
    project.root,
    MIGRATIONS_DIR,
    `V${nextVersion(join(project.root, MIGRATIONS_DIR))}__collect_statistics`,
  );
  mkdirSync(join(base, '..'), { recursive: true });
  const lines = [
    `-- Advised by \`dbee advise ${project.name} --env ${environment}\`: statistics the optimizer asked for (missing) or`,
    `-- collected over ${report.staleDays} days ago (stale).`,
    ...report.collect.flatMap((c) => [
      `-- ${c.reason}${c.queries.length ? `: ${c.queries.join(', ')}` : ''}`,
      `${c.statement};`,
    ]),
    '',
  ];
  writeFileSync(`${base}.sql`, lines.join('\n'));
  const missing = report.collect.filter((c) => c.reason === 'missing');
  writeFileSync(
    `${base}.rollback.sql`,
    missing.length ? missing.map((c) => `${c.rollback};`).join('\n') + '\n' : '-- The recollected statistics stay.\n',
  );
  return [`${base}.sql`, `${base}.rollback.sql`].map((f) => relative(workspaceRoot, f));
}
