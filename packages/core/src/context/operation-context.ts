import { DbeeError } from '../errors';
import type { Engine } from '../engine/engine';
import type { DbProject, Workspace } from '../config/workspace';
import type { ResolvedEnvironment } from '../config/resolve';
import { streamReporter, type Reporter } from '../runner/reporter';
import type { SessionPool } from '../engine/session-pool';
import type { FleetPlans } from './fleet-plans';
import type { DeployReport } from '../runner/deploy-report';

/** What every operation receives: where it runs, where output goes, and how to get an engine by name. */
export interface OperationContext {
  workspace: Workspace;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  interactive: boolean;
  /** Called by an Nx executor: Nx runs the dependencies' tasks itself. */
  fromNx: boolean;
  engine(name: string): Engine;
  reporter: Reporter;
  /** dbee's version, recorded in the ledger. */
  toolVersion: string;
  /**
   * What the tasks of one Nx batch share (one lock, connection and shadow per environment; the parsed sources, the
   * git commit, the ledger's state read once). Absent outside a batch: an operation then reads everything afresh.
   */
  sessions?: SessionPool;
  /**
   * Set by a fleet command for its targets: what they share, the parsed sources and, for a deployment, the plans
   * built so far, one per live state, which a target in the same state reuses (context/fleet-plans.ts). Absent: an
   * operation parses and plans for its own environment.
   */
  plans?: FleetPlans;
  /**
   * Set by a fleet deployment for each of its targets: given the target's deployment report (what `--report` writes)
   * when the deployment ends, so that the fleet's report is made from it in memory, without a file per target.
   */
  onDeployReport?(report: DeployReport): void;
  /**
   * Set by `dbee docs` for the release board: the operations it runs (`status`, `log`) open their sessions read-only
   * (`SessionRequest.readOnly`) and notify no one (a drift they find is shown on the board, not sent to `notify`).
   */
  readOnly?: boolean;
}

export function makeReporter(stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): Reporter {
  return streamReporter(stdout, stderr);
}

/** The engine for an environment, after checking the project is written for it. */
export function engineFor(ctx: OperationContext, environment: ResolvedEnvironment, projects: DbProject[]): Engine {
  for (const p of projects) {
    if (p.config.engine !== environment.engine) {
      throw new DbeeError(
        `project ${p.name} is written for ${p.config.engine}, but environment ${environment.name} is ${environment.engine}`,
        {
          code: 'ENGINE_MISMATCH',
          location: p.file.locate(['engine']),
          hint: `deploy it to a ${p.config.engine} environment`,
        },
      );
    }
  }
  return ctx.engine(environment.engine);
}
