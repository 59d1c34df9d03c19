import { smokeEvidence } from './smoke-evidence';
import type { ResolvedEnvironment } from '../config/resolve';
import { durationMs } from '../config/units';
import { DbeeError } from '../errors';
import type { DeploymentRow, DeploymentSummary } from '../ledger/ledger';
import { openLedger } from '../ledger/open-ledger';
import type { LoadedPackage } from '../package/package';
import { formatDuration } from '../runner/reporter';
import { withSession } from '../runner/session';
import { engineFor, type OperationContext } from '../context/operation-context';
import {
  DEFAULT_PROMOTION_KEY,
  readPromotionRecord,
  writePromotionRecord,
  type PromotedProject,
} from './promotion-record';

/** What is known of a package's deployment to an earlier environment, and where it was read. */
interface Evidence {
  from: 'ledger' | 'record';
  projects: Map<string, PromotedProject & { finishedAt: string | null }>;
}

/** The projects of a package that have steps: each opens a deployment where it is deployed. */
function deployedProjects(pkg: LoadedPackage): string[] {
  return pkg.plan.projects.filter((p) => pkg.plan.steps.some((s) => s.project === p));
}

/**
 * `gates.promotedFrom`, checked before anything runs: only a package deploys to such an environment, and only one
 * deployed to each named environment first, every project of it `succeeded` with its smoke checks run and passed
 * there (at least `gates.minSoak` ago). Each earlier environment's ledger is read when it can be reached; otherwise
 * the package's signed promotion record from it (see `promotion-record.ts`). Refuses once, naming everything missing.
 */
export async function checkPromotion(
  ctx: OperationContext,
  environment: ResolvedEnvironment,
  pkg: LoadedPackage | null,
  now: Date,
): Promise<void> {
  const from = environment.gates.promotedFrom;
  if (!from?.length) return;
  const gate = `gates.promotedFrom: [${from.join(', ')}]`;
  if (!pkg) {
    throw new DbeeError(
      `environment ${environment.name} only accepts packages promoted from ${from.join(', ')} (${gate}); a deployment from the sources is refused, nothing was applied`,
      {
        code: 'GATE_PROMOTION_PACKAGE_REQUIRED',
        location: environment.declaredAt,
        hint: `build a package (dbee plan <project> --out <folder>), deploy it to ${from.join(', ')}, then deploy the same folder here with --package`,
      },
    );
  }
  const problems: string[] = [];
  const projects = deployedProjects(pkg);
  const soakMs = environment.gates.minSoak === undefined ? 0 : durationMs(environment.gates.minSoak);
  for (const earlier of from) {
    if (!Object.hasOwn(ctx.workspace.config.environments, earlier)) {
      throw new DbeeError(
        `${gate} of environment ${environment.name} names ${earlier}, which is not declared under environments`,
        {
          code: 'CONFIG_INVALID',
          location: environment.declaredAt,
          hint: `use one of: ${Object.keys(ctx.workspace.config.environments).sort().join(', ')}`,
        },
      );
    }
    const ledger = await fromLedger(ctx, earlier, pkg);
    const evidence =
      'unavailable' in ledger ? fromRecord(ctx, environment, earlier, pkg, ledger.unavailable, problems) : ledger;
    if (!evidence) continue;
    const where = evidence.from === 'ledger' ? `${earlier}'s ledger` : `the promotion record from ${earlier}`;
    for (const project of projects) {
      const d = evidence.projects.get(project);
      if (!d) {
        problems.push(`${project}: this package was never deployed to ${earlier} (${where})`);
        continue;
      }
      const id = d.deploymentId === null ? '' : ` (deployment #${d.deploymentId})`;
      const smoke = smokeEvidence(d.smoke);
      if (d.status !== 'succeeded')
        problems.push(`${project}: its deployment to ${earlier} ${d.status}${id}, smoke checks: ${d.smoke}`);
      else if (smoke === 'not run')
        problems.push(`${project}: its smoke checks did not run on ${earlier}${id}: ${d.smoke}`);
      else if (smoke === 'failed') problems.push(`${project}: its smoke checks failed on ${earlier}${id}: ${d.smoke}`);
      else if (soakMs && d.finishedAt) {
        const soaked = now.getTime() - Date.parse(d.finishedAt);
        if (soaked < soakMs)
          problems.push(
            `${project}: deployed to ${earlier} ${formatDuration(Math.max(0, soaked))} ago${id}; gates.minSoak asks for ${environment.gates.minSoak}`,
          );
      }
    }
  }
  if (!problems.length) return;
  throw new DbeeError(
    `package ${pkg.path} cannot be deployed to ${environment.name} (${gate}); nothing was applied:\n  ${problems.join('\n  ')}`,
    {
      code: 'GATE_PROMOTION_REFUSED',
      location: environment.declaredAt,
      hint: `deploy this same package to ${from.join(', ')} first, with passing smoke checks (and wait out gates.minSoak)`,
      details: { problems },
    },
  );
}

/**
 * The package's newest deployment of each project on `earlier`, from its ledger; `unavailable` (why) when that
 * environment cannot be reached from here (its connection's variables are not set, or it does not answer), or has no
 * ledger (an embedded database folder that is not on this machine is a new, empty one): then the signed record decides.
 */
async function fromLedger(
  ctx: OperationContext,
  earlier: string,
  pkg: LoadedPackage,
): Promise<Evidence | { unavailable: string }> {
  const { workspace } = ctx;
  try {
    const environment = workspace.environment(earlier, ctx.env);
    const projects = pkg.plan.projects.map((p) => workspace.project(p));
    const engine = engineFor(ctx, environment, projects);
    const read = await withSession(
      { engine, environment, workspaceRoot: workspace.root },
      async ({ conn }): Promise<Evidence | { unavailable: string }> => {
        const ledger = openLedger(conn, engine.ledger);
        if (!(await ledger.tables.exists()))
          return { unavailable: `${earlier}'s database has no dbee ledger (nothing was ever deployed there)` };
        const out: Evidence = { from: 'ledger', projects: new Map() };
        for (const project of pkg.plan.projects) {
          const rows = await ledger.deployments.list(project, earlier, 10_000);
          // A package deployment (a deployment from the sources of the same plan is not this package: no smoke files of its own).
          const d = rows.find(
            (r) =>
              // A direct deployment of the package, or the expand phase of a release from it.
              (r.kind === 'deploy' || r.kind === 'expand') &&
              r.package !== null &&
              r.plan_checksum === pkg.manifest.planChecksum &&
              r.status !== 'running',
          );
          if (!d) continue;
          const finishedAt = d.finished_at ? new Date(d.finished_at).toISOString() : null;
          out.projects.set(project, { project, deploymentId: d.id, status: d.status, smoke: smokeOf(d), finishedAt });
        }
        return out;
      },
    );
    if ('unavailable' in read)
      ctx.reporter.info(`promotion: ${read.unavailable}; using the package's promotion record`);
    return read;
  } catch (e) {
    const why = `${earlier}'s ledger cannot be read from here (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`;
    ctx.reporter.info(`promotion: ${why}; using the package's promotion record`);
    return { unavailable: why };
  }
}

/** The smoke outcome a deployment row's summary records (`n/m passed`, `not run`). */
function smokeOf(row: DeploymentRow): string {
  const summary =
    typeof row.summary === 'string'
      ? (JSON.parse(row.summary) as DeploymentSummary)
      : (row.summary as DeploymentSummary | null);
  return summary?.smoke ?? 'not run';
}

/** The signed promotion record from `earlier` in the package folder; null (with the problem noted) when it is not trusted. */
function fromRecord(
  ctx: OperationContext,
  environment: ResolvedEnvironment,
  earlier: string,
  pkg: LoadedPackage,
  unavailable: string,
  problems: string[],
): Evidence | null {
  const keyName = environment.gates.promotionKey ?? DEFAULT_PROMOTION_KEY;
  const secret = ctx.env[keyName];
  if (!secret) {
    problems.push(`${unavailable}, and ${keyName} is not set to check the package's promotion record from ${earlier}`);
    return null;
  }
  const reading = readPromotionRecord(pkg.path, earlier, pkg.manifest.planChecksum, keyName, secret);
  if (!reading.ok) {
    problems.push(`${unavailable}, and ${reading.reason}`);
    return null;
  }
  return {
    from: 'record',
    projects: new Map(reading.record.projects.map((p) => [p.project, { ...p, finishedAt: reading.record.finishedAt }])),
  };
}

/** What `deploy` knows of a finished package deployment, for its promotion record. */
export interface PromotionOutcome {
  environment: ResolvedEnvironment;
  pkg: LoadedPackage;
  database: string | null;
  ticket: string | null;
  finishedAt: string;
  projects: PromotedProject[];
}

/**
 * After a package's deployment ran on an environment that another one promotes from (`gates.promotedFrom`), record
 * its outcome in the package folder, signed with the key of each environment that promotes from it (variables that
 * are not set are named in a warning: that environment will not accept the record).
 */
export function recordPromotion(ctx: OperationContext, outcome: PromotionOutcome): void {
  const { environment, pkg } = outcome;
  const later = Object.entries(ctx.workspace.config.environments).filter(([, e]) =>
    e.gates?.promotedFrom?.includes(environment.name),
  );
  if (!later.length || !outcome.projects.length) return;
  const keys = new Map<string, string>();
  const unsigned: string[] = [];
  for (const [name, e] of later) {
    const keyName = e.gates?.promotionKey ?? DEFAULT_PROMOTION_KEY;
    const secret = ctx.env[keyName];
    if (secret) keys.set(keyName, secret);
    else unsigned.push(`${name} (${keyName} is not set)`);
  }
  const path = writePromotionRecord(
    pkg.path,
    {
      planChecksum: pkg.manifest.planChecksum,
      environment: environment.name,
      database: outcome.database,
      finishedAt: outcome.finishedAt,
      ticket: outcome.ticket,
      projects: outcome.projects,
    },
    keys,
  );
  ctx.reporter.info(`promotion record written to ${path}`);
  if (unsigned.length)
    ctx.reporter.warn(
      `the promotion record is not signed for ${unsigned.join(', ')}: there it is accepted only when ${environment.name}'s ledger can be read`,
    );
}
