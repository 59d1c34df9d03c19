/** What a rollback's dry run prints: the exact SQL, deployment by deployment. */
import type { CompensatingStep } from '../../runner/undo';
import type { Prepared } from './undo-plan';

/** The exact SQL a rollback would run, deployment by deployment, with what cannot be undone. */
export function printRollback(out: NodeJS.WritableStream, p: Prepared): void {
  const steps = (list: CompensatingStep[]) => {
    for (const s of list) {
      const undoes = s.undoes ? `  (undoes step ${s.undoes.step.order}: ${s.undoes.step.action})` : '';
      out.write(
        `-- step ${s.plan.order}/${list.length}: ${s.plan.action} ${s.plan.key}${undoes}${s.plan.transactional ? '' : '  [outside a transaction]'}\n`,
      );
      for (const h of s.plan.hazards) out.write(`--   hazard ${h.kind}: ${h.message}\n`);
      if (s.skip) {
        out.write(`--   NO REVERSE: ${s.skip}\n\n`);
        continue;
      }
      for (const sql of s.plan.statements) out.write(sql.trim().replace(/;$/, '') + ';\n');
      // The real run sends this only if the server refuses the replacement (undo.ts `withFallback`): said here too.
      if (s.fallback)
        out.write(
          "--   if the server refuses this replacement: back to the step's savepoint, the view is dropped and created\n" +
            '--   again by its old definition, with what stands on it dropped before and created after\n',
        );
      out.write('\n');
    }
  };
  for (const u of p.units) {
    const d = u.deployment;
    out.write(
      `-- undo deployment #${d.id} (${d.kind} ${d.status}, started ${new Date(d.started_at).toISOString()}${d.git_commit ? `, commit ${d.git_commit.slice(0, 12)}` : ''}${d.package ? `, package ${d.package}` : ''}): ${u.steps.length} step${u.steps.length === 1 ? '' : 's'}, newest first\n`,
    );
    steps(u.steps);
  }
  if (p.toRef) {
    out.write(
      `-- back to the sources at ${p.toRef.ref} (${p.toRef.commit.slice(0, 12)}): ${p.toRef.steps.length} step${p.toRef.steps.length === 1 ? '' : 's'} from the diff of the live database\n`,
    );
    if (!p.toRef.steps.length) out.write('-- the schema already matches; only the ledger state changes\n');
    steps(p.toRef.steps);
  }
}
