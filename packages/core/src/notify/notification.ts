import type { NotifyEvent } from '../config/schema';
import type { DeployReport } from '../runner/deploy-report';

/** Version of the `json` body; bump on an incompatible change. */
export const NOTIFICATION_FORMAT_VERSION = 1;

/**
 * What a webhook is told: secret-free by construction (names, ids, checksums, statuses; no SQL, no connection
 * settings, no variables). The `json` format sends exactly this, with `formatVersion`.
 */
export interface Notification {
  event: NotifyEvent;
  /** The projects of the run, in deployment order. */
  projects: string[];
  environment: string;
  /** Secret-free description of the database, e.g. `postgres://app@db:5432/sales`. */
  database: string | null;
  /** The package folder deployed, or null for a deployment from the sources. */
  package: string | null;
  planChecksum: string | null;
  commit: string | null;
  ticket: string | null;
  who: { osUser: string; host: string; ciJob: string | null };
  /** `started`, `succeeded`, `failed`, `rolled-back`, or for `drift-found`: `drift`. */
  result: string;
  /** The run's exit code; null while it runs. */
  exitCode: number | null;
  steps: { order: number; project: string; object: string; action: string; status: string }[];
  /** Smoke checks after deploying: `a 3/3 passed`, `not run`. */
  smoke: string;
  /** Ledger ids of the deployments it opened. */
  deployments: number[];
  error: { code: string; message: string } | null;
  /** When the event happened (ISO time). */
  at: string;
  /**
   * A phase of an expand-contract release (`expand`, `complete`, `abort`), or `disable` / `enable` / `rollback`; absent
   * for a direct deployment.
   */
  phase?: string;
}

/** A deployment's notification from its report (`deploy --report` holds the same facts). */
export function fromDeployReport(
  event: NotifyEvent,
  r: DeployReport,
  result: string,
  exitCode: number | null,
): Notification {
  return {
    event,
    projects: r.planned,
    environment: r.environment,
    database: r.database,
    package: r.source.package,
    planChecksum: r.source.planChecksum,
    commit: r.source.commit,
    ticket: r.ticket,
    who: r.who,
    result,
    exitCode,
    steps: r.steps.map((s) => ({
      order: s.order,
      project: s.project,
      object: s.key,
      action: s.action,
      status: s.status,
    })),
    smoke: r.smoke,
    deployments: r.projects.flatMap((p) => (p.deploymentId === null ? [] : [p.deploymentId])),
    error: r.error ? { code: r.error.code, message: r.error.message } : null,
    at: new Date().toISOString(),
    ...(r.phase ? { phase: r.phase } : {}),
  };
}

const TITLES: Record<NotifyEvent, string> = {
  'deploy-started': 'deployment started',
  'deploy-succeeded': 'deployment succeeded',
  'deploy-failed': 'deployment FAILED',
  'rolled-back': 'rolled back',
  'smoke-failed': 'smoke checks FAILED',
  'drift-found': 'drift found',
};

function facts(n: Notification): [string, string][] {
  const applied = n.steps.filter((s) => s.status === 'applied').length;
  return [
    ['environment', `${n.environment}${n.database ? ` (${n.database})` : ''}`],
    ['source', n.package ? `package ${n.package}` : `commit ${n.commit ?? 'unknown'}`],
    ['ticket', n.ticket ?? 'none'],
    ['who', `${n.who.osUser}@${n.who.host}${n.who.ciJob ? ` (CI job ${n.who.ciJob})` : ''}`],
    ['steps', `${applied}/${n.steps.length} applied`],
    ['smoke', n.smoke],
    ['result', `${n.result}${n.exitCode === null ? '' : ` (exit ${n.exitCode})`}`],
    ...(n.error ? [['error', n.error.message.split('\n')[0]!] as [string, string]] : []),
  ];
}

/** The request body of a notification in a webhook's format. */
export function notificationBody(n: Notification, format: 'json' | 'slack' | 'teams'): unknown {
  const title = `dbee: ${n.projects.join(', ')} on ${n.environment}: ${TITLES[n.event]}`;
  if (format === 'slack') return { text: [`*${title}*`, ...facts(n).map(([k, v]) => `• ${k}: ${v}`)].join('\n') };
  if (format === 'teams') {
    return {
      '@type': 'MessageCard',
      '@context': 'https://schema.org/extensions',
      summary: title,
      themeColor:
        n.event === 'deploy-failed' || n.event === 'smoke-failed'
          ? 'D70000'
          : n.event === 'deploy-succeeded'
            ? '2EB886'
            : '0076D7',
      title,
      sections: [{ facts: facts(n).map(([name, value]) => ({ name, value })) }],
    };
  }
  return { formatVersion: NOTIFICATION_FORMAT_VERSION, ...n };
}
