import { desiredModelFor } from '../diffing/desired';
import { planChanges } from '../diffing/diff-plan';
import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import { requireRole } from '../engine/engine';
import { Ledger } from '../ledger/ledger';
import type { AdoptOptions } from '../options';
import { planFromSources } from '../planner/planner';
import { ciJob, gitCommit } from '../context/origin';
import type { OperationContext } from '../context/operation-context';
import { loadTarget, schemaOwners } from '../context/load';
import { Deployment } from '../runner/deployment';
import { withSession } from '../runner/session';

export type { AdoptOptions };

/** What a recorded object's checksum is when the live object differs from the sources: never a real checksum. */
const DIFFERS = 'adopted-differs';

/**
 * `adopt`: put a database that dbee never deployed under the ledger. The live schema is compared with the sources'
 * desired model; every object of the sources that exists live is recorded as deployed (a deployment of kind
 * `adopt`, nothing applied): at the sources' checksum when it is equal, with a marker that never matches when it
 * differs, so that the first deployment leaves equal objects alone, replaces changed views and routines, plans
 * changed tables by a diff of the live schema, and creates what is missing. Migrations are not recorded.
 */
export async function adopt(ctx: OperationContext, options: AdoptOptions): Promise<ExitCodeValue> {
  const { workspace, reporter } = ctx;
  const { environment, target, models, model, engine } = await loadTarget(ctx, options.project, options.env);
  const diff = requireRole(engine, 'diff', 'compare a live database with the sources');
  const catalog = requireRole(engine, 'catalog', 'compare a live database with the sources');
  const desired = await desiredModelFor(ctx, { engine, environment, models, target: target.name });
  const sources = planFromSources({
    engine,
    models,
    planned: [target.name],
    schemaOwners: schemaOwners(ctx, environment),
  });
  const objectSteps = sources.steps.filter((s) => s.action !== 'migrate');
  const scope = { schemas: model.graph.schemas, manage: model.graph.manage };
  return await withSession(
    { engine, environment, workspaceRoot: workspace.root, reporter },
    async ({ conn, owner }) => {
      const ledger = new Ledger(conn, engine.ledger);
      if ((await ledger.exists()) && (await ledger.deployments(target.name, environment.name, 1)).length) {
        throw new DbeeError(`${target.name} already has deployments on ${environment.name}: it is under dbee already`, {
          code: 'ADOPT_NOT_NEEDED',
          hint: 'use dbee status and dbee diff to see where it stands',
        });
      }
      const live = await diff.introspect(conn, scope);
      const gap = planChanges(engine, live, desired.model, {
        project: target.name,
        online: false,
        renames: target.config.renames ?? [],
        owners: scope.manage?.owners,
      });
      const touched = new Set<string>();
      for (const s of gap.steps) {
        touched.add(`${s.objectKey.schema}.${s.objectKey.name}`);
        if (s.objectKey.parent) touched.add(s.objectKey.parent);
      }
      const existing = await catalog.existingObjects(
        conn,
        objectSteps.map((s) => s.objectKey),
      );
      const recorded = objectSteps
        .filter((s) => existing.has(s.key))
        .map((s) => {
          const name =
            s.objectKey.kind === 'schema' ? `${s.objectKey.name}` : `${s.objectKey.schema}.${s.objectKey.name}`;
          const differs = touched.has(name) || (s.objectKey.parent !== undefined && touched.has(s.objectKey.parent));
          return { key: s.key, checksum: differs ? DIFFERS : s.checksum, differs };
        });
      const missing = objectSteps.filter((s) => !existing.has(s.key));
      reporter.info(
        `dbee adopt ${target.name} -> ${environment.name} (${conn.description})${options.dryRun ? ' [dry run]' : ''}`,
      );
      for (const r of recorded)
        reporter.info(`  ${r.differs ? 'differs from the sources' : 'equal to the sources'}: ${r.key}`);
      for (const s of missing) reporter.info(`  missing (the first deployment creates it): ${s.key}`);
      for (const m of model.migrations)
        reporter.info(
          `  migration ${m.file.version} not recorded: the first deployment runs it (record it by hand if it already ran)`,
        );
      reporter.info(
        `${recorded.length} objects recorded (${recorded.filter((r) => r.differs).length} differ), ${missing.length} missing; ${gap.steps.length} step(s) between the live schema and the sources`,
      );
      if (options.dryRun) {
        reporter.info('dry run: the ledger was not written');
        return ExitCode.ok;
      }
      await ledger.ensure();
      const deployment = await Deployment.open(ledger, {
        project: target.name,
        environment: environment.name,
        kind: 'adopt',
        planChecksum: sources.steps.length
          ? sources.steps
              .map((s) => s.checksum)
              .join('')
              .slice(0, 64)
          : 'none',
        package: null,
        gitCommit: await gitCommit(workspace.root),
        toolVersion: ctx.toolVersion,
        osUser: owner.user,
        ciJob: ciJob(ctx.env),
        host: owner.host,
        stepsTotal: 0,
      });
      const id = deployment.id;
      await conn.transaction(async (tx) => {
        for (const r of recorded) await ledger.setObjectState(target.name, r.key, r.checksum, id, tx);
      });
      const fingerprint = await diff.fingerprint(conn, scope);
      await deployment.close('succeeded', { fingerprint });
      reporter.info(`${target.name}: adopted as deployment ${id} (kind adopt); deploy applies only the differences`);
      return ExitCode.ok;
    },
  );
}
