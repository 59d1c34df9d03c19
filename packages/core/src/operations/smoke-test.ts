import { ExitCode, type ExitCodeValue } from '../errors';
import { requireRole } from '../engine/engine';
import { openLedger } from '../ledger/open-ledger';
import { canonicalJson } from '../plan/serialize';
import { formatSmokeResult, loadSmokeChecks, runSmokeChecks, smokeRegression, smokeTimeoutMs } from '../smoke';
import { engineFor, type OperationContext } from '../context/operation-context';
import { loadModels, parseCacheOf } from '../context/load';
import type { SmokeTestOptions } from '../options';
import { withSession } from '../runner/session';
import { formatKey, parseKey } from '../model/object-key';
import { readSelection, refuseUnmatched, selectsKey } from '../planner/selection';
import { checksNaming, selectedChanges } from '../smoke/selection';

export type { SmokeTestOptions };

/**
 * `smoke-test`: run a project's smoke checks (baseline and smoke files) against an environment, print each with
 * its outcome and time, and store the results in the ledger. Exit 0 when all pass, 3 when any fails, 1 when the
 * smoke files are invalid (nothing ran). `--objects`: the checks that name the selected objects, and the baseline of
 * those objects and of the views over them; an entry matching no object the ledger records is refused (nothing ran).
 */
export async function smokeTest(ctx: OperationContext, options: SmokeTestOptions): Promise<ExitCodeValue> {
  const { workspace } = ctx;
  const environment = workspace.environment(options.env, ctx.env);
  const target = workspace.project(options.project);
  const engine = engineFor(ctx, environment, [target]);
  requireRole(engine, 'smoke', 'run smoke checks', 'nothing was run');
  const [model] = await loadModels(ctx, [target], environment, engine);
  // Invalid smoke files are refused before anything touches the database.
  const checks = await loadSmokeChecks(model!, engine, parseCacheOf(ctx, engine));
  const settings = workspace.settings(target, environment).deploy;
  const text = options.format !== 'json';
  const selection = readSelection(options, (p) => workspace.commandLinePath(p));

  // Checks must not run against a half-applied deployment: wait for the deployment lock like deploy does.
  return withSession(
    { engine, environment, workspaceRoot: workspace.root, reporter: ctx.reporter, deploy: settings },
    async ({ conn }) => {
      const ledger = openLedger(conn, engine.ledger);
      const selected = selection ? (await ledger.objects.objectKeys(target.name)).map(parseKey) : null;
      if (selection && selected) {
        refuseUnmatched(selection, selected, `that the ledger of ${environment.name} records for ${target.name}`);
        selected.splice(0, selected.length, ...selected.filter((k) => selectsKey(selection, k)));
      }
      // The results are kept in the ledger, even for a project that was never deployed here.
      await ledger.tables.ensure();
      const last = (await ledger.deployments.list(target.name, environment.name, 1))[0];
      if (text) {
        ctx.stdout.write(
          `${target.name}: smoke checks on ${environment.name} (${conn.description})${last ? `, after deployment #${last.id} (${last.status})` : ', never deployed here'}\n`,
        );
      }
      const run = await runSmokeChecks({
        engine,
        conn,
        model: model!,
        environment: environment.name,
        deploymentId: last?.id ?? null,
        ...(selected
          ? {
              checks: checksNaming(checks, selected),
              deployed: selected.map(formatKey),
              changes: selectedChanges(selected),
            }
          : { checks }),
        timeoutMs: smokeTimeoutMs(settings),
        regression: smokeRegression(environment.gates),
        onResult: text ? (r) => ctx.stdout.write(formatSmokeResult(r) + '\n') : undefined,
      });
      const failed = run.results.filter((r) => r.status === 'failed');
      if (text) {
        ctx.stdout.write(`${target.name}: ${run.results.length - failed.length} passed, ${failed.length} failed\n`);
      } else {
        ctx.stdout.write(
          canonicalJson({
            project: target.name,
            environment: environment.name,
            database: conn.description,
            deploymentId: last?.id ?? null,
            passed: run.passed,
            results: run.results,
          }),
        );
      }
      if (run.passed) return ExitCode.ok;
      ctx.stderr.write(
        `error: ${failed.length} smoke check${failed.length === 1 ? '' : 's'} of ${target.name} failed: ${failed.map((r) => r.name).join(', ')}\n`,
      );
      return ExitCode.smokeFailed;
    },
  );
}
