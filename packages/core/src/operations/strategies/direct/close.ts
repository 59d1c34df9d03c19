import { readRecordable, summaryOf } from '../../../runner/recorded-fingerprint';
import { projectScope } from '../../../schema/managed-scope';
import { DbeeError, ExitCode } from '../../../errors';
import type { ProjectRunResult } from '../../../runner/runner';
import { lockOwner, type DeploymentSession } from '../../../runner/session';
import { ciJob } from '../../../context/origin';
import type { OperationContext } from '../../../context/operation-context';
import type { PipelineApplied } from '../../../pipeline/pipeline';
import { Deployment } from '../../../runner/deployment';
import type { DeployReport } from '../../../runner/deploy-report';
import { applyInput } from './apply';
import type { DeployInputs, DeployRun, SmokePlan } from './deploy-run';
import { verifier } from './smoke';

export function promotesFrom(ctx: OperationContext, environment: string): boolean {
  return Object.values(ctx.workspace.config.environments).some((e) => e.gates?.promotedFrom?.includes(environment));
}

/**
 * A package at its state where the next environment reads promotions from: each of its projects gets a deployment of
 * no steps that runs the package's smoke checks here and records them (the evidence `gates.promotedFrom` reads).
 */
export async function settleClosing(
  ctx: OperationContext,
  input: DeployInputs,
  session: DeploymentSession,
  run: DeployRun,
  report: DeployReport,
  projects: string[],
  why: 'promotion' | 'resume',
): Promise<PipelineApplied> {
  const missing = projects.filter((p) => !run.smoke?.checks.has(p));
  if (missing.length && why === 'promotion')
    throw new DbeeError(
      `package ${input.pkg!.path} is already deployed on ${input.environment.name}, but no promotion record can be written: the smoke checks of ${missing.join(', ')} do not run here (${input.engine.smoke ? 'deploy.smokeAfterDeploy: false' : `the ${input.engine.name} engine cannot run them`})`,
      {
        code: 'PROMOTION_NOT_RECORDED',
        hint: 'the next environment accepts a package only with passing smoke checks here: enable them (deploy.smokeAfterDeploy), then deploy the package again',
      },
    );
  if (why === 'promotion')
    ctx.reporter.info(`${projects.join(', ')}: the package's smoke checks run here for its promotion record`);
  const pkg = input.pkg;
  const owner = lockOwner();
  const ledger = run.ledger!;
  await ledger.tables.ensure();
  const smoke: SmokePlan = run.smoke ?? { checks: new Map(), timeoutMs: new Map(), outcomes: new Map() };
  const verify = verifier(ctx, applyInput(ctx, input, session, run, report, undefined), smoke);
  const results: ProjectRunResult[] = [];
  for (const project of projects) {
    const t0 = Date.now();
    const deployment = await Deployment.open(ledger, {
      project,
      environment: input.environment.name,
      kind: 'deploy',
      planChecksum: run.planChecksum,
      package: pkg?.path ?? null,
      gitCommit: run.commit,
      toolVersion: ctx.toolVersion,
      osUser: owner.user,
      ciJob: ciJob(ctx.env),
      host: owner.host,
      stepsTotal: 0,
      ticket: report.ticket,
    });
    const verdict = await verify(project, deployment.id, deployment.objectKeys());
    const model = input.models.find((m) => m.project.name === project);
    const fingerprint =
      input.engine.diff && model
        ? summaryOf(await readRecordable(input.engine.diff, session.conn, projectScope(model.graph)))
        : {};
    await deployment.close(
      verdict.passed ? 'succeeded' : 'failed',
      { smoke: verdict.summary, ...fingerprint },
      verdict.error ? { error: verdict.error.message, statement: null } : null,
    );
    results.push({
      project,
      deploymentId: deployment.id,
      status: verdict.passed ? 'succeeded' : 'failed',
      stepsApplied: 0,
      stepsTotal: 0,
      durationMs: Date.now() - t0,
      backups: [],
      ...(verdict.error ? { error: verdict.error } : {}),
    });
  }
  report.status = 'succeeded';
  const failed = results.some((r) => r.status === 'failed');
  return {
    result: { exitCode: failed ? ExitCode.smokeFailed : ExitCode.ok, projects: results, steps: [] },
    smoke: smoke.outcomes,
  };
}

/** What a deployment works with, settled before the lock is taken. */
