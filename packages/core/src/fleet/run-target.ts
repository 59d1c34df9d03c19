import { DbeeError, ExitCode } from '../errors';
import { makeReporter, type OperationContext } from '../context/operation-context';
import type { DeployReport } from '../runner/deploy-report';
import { PrefixedStream } from './prefixed-stream';

/** An operation that runs on one environment: the unchanged single-environment operation (operations/*.ts). */
export type SingleOperation<O> = (ctx: OperationContext, options: O) => Promise<number>;

/** What one target's run returned: its exit code, the error it refused or failed with, and its deploy report. */
export interface TargetRun {
  exitCode: number;
  error: { code: string; message: string } | null;
  report: DeployReport | null;
  durationMs: number;
}

/**
 * Run a single-environment operation on one target of a fleet, exactly as it runs on an environment of its own, its
 * output prefixed with the target's name (unless the caller gives its own streams). A user error is printed (prefixed) as the CLI prints it and becomes the
 * run's exit code; a bug is printed with its stack and counts as a refusal of that target. With `withReport`, the
 * deployment's report is kept as the deployment hands it over (`OperationContext.onDeployReport`), in memory: no
 * temporary file written, read back and removed per target (that cost the fleet's process ~1.5 ms of CPU per target).
 */
export async function runOnTarget<O extends { env?: string }>(
  ctx: OperationContext,
  target: string,
  environment: string,
  op: SingleOperation<O>,
  options: O,
  io: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream; withReport: boolean },
): Promise<TargetRun> {
  const prefix = `[${target}] `;
  // Output given by the caller is kept as it is (a JSON status to parse); the fleet's own streams get the prefix.
  const stdout = io.stdout ?? new PrefixedStream(ctx.stdout, prefix);
  const stderr = io.stderr ?? new PrefixedStream(ctx.stderr, prefix);
  const reporter = makeReporter(stdout, stderr);
  // Every report the operation hands over (a deployment hands over one): the last is the run's.
  const reports: DeployReport[] = [];
  const targetCtx: OperationContext = {
    ...ctx,
    stdout,
    stderr,
    reporter,
    interactive: false,
    ...unpooled(ctx),
    ...(io.withReport ? { onDeployReport: (r: DeployReport) => void reports.push(r) } : {}),
  };
  const t0 = Date.now();
  let exitCode: number;
  let error: TargetRun['error'] = null;
  try {
    exitCode = await op(targetCtx, { ...options, env: environment });
  } catch (e) {
    if (e instanceof DbeeError) {
      stderr.write(`error: ${e.format()}\n`);
      exitCode = e.exitCode;
      error = { code: e.code, message: e.message };
    } else {
      stderr.write(
        `internal error (a bug in dbee, please report it):\n${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
      );
      exitCode = ExitCode.invalid;
      error = { code: 'INTERNAL_ERROR', message: e instanceof Error ? e.message : String(e) };
    }
  } finally {
    for (const s of [stdout, stderr]) if (s instanceof PrefixedStream) s.flush();
  }
  const report = reports.at(-1) ?? null;
  if (!error && report?.error) error = { code: report.error.code, message: report.error.message };
  if (!error && exitCode !== 0) {
    const failedProject = report?.projects.find((p) => p.error);
    if (failedProject?.error) error = failedProject.error;
  }
  return { exitCode, error, report, durationMs: Date.now() - t0 };
}

/**
 * The context's engines and batch sessions for work on one target: each target takes its own lock and connection and
 * gives them back when its run ends, as a single environment does. In an Nx batch the pool would keep them (one per
 * target, hundreds in a fleet) until the batch ends.
 */
export function unpooled(ctx: OperationContext): Pick<OperationContext, 'engine' | 'sessions'> {
  const pool = ctx.sessions;
  return { sessions: undefined, engine: pool ? (name: string) => pool.unwrap(ctx.engine(name)) : ctx.engine };
}
