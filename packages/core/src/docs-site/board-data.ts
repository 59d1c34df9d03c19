/**
 * The release board (`dbee docs --env dev,qa,prod`): environments × projects, each cell what `dbee status` and
 * `dbee log` say of that project on that environment, and per project the timeline of its deployments across the
 * environments. Built from their JSON output (one `status` and one `log` per project and environment), so that the
 * board and the terminal never disagree.
 */

/** One deployment as the board shows it (a row of `dbee log --format json`). */
export interface BoardDeployment {
  environment: string;
  project: string;
  id: number;
  /** `deploy`, `rollback`, ... */
  kind: string;
  /** `succeeded`, `failed`, `rolled-back`, `interrupted`, `running`, ... */
  result: string;
  startedAt: string;
  finishedAt: string | null;
  /** The package folder deployed, null for a deployment from the sources. */
  package: string | null;
  planChecksum: string;
  commit: string | null;
  ticket: string | null;
  /** `os user@host`, else the database user. */
  by: string;
  /** Smoke checks run after it: `3/3 passed`, `not run`... */
  smoke: string;
  error: string | null;
}

/** What the board says of one project on one environment. */
export interface BoardCell {
  environment: string;
  project: string;
  /** False when the environment could not be read; `error` says why. */
  reachable: boolean;
  error: string | null;
  /** The last deployment that succeeded (what is deployed), null when none. */
  deployed: BoardDeployment | null;
  /** The last deployment that failed, rolled back or was interrupted, when it is newer than `deployed`. */
  lastFailure: BoardDeployment | null;
  /** `yes`, `no`, `unknown` (nothing to compare), or `not reachable`. */
  drift: 'yes' | 'no' | 'unknown' | 'not reachable';
  /** Keys of the objects a deployment of the sources would change. */
  pending: string[];
  /** Strategy work in flight (an expand-contract release, a blue/green switch), as `dbee status` names it. */
  inFlight: string[];
}

export interface DocsBoard {
  environments: string[];
  projects: string[];
  cells: BoardCell[];
  /** Every deployment of each project on the environments, oldest first. */
  history: BoardDeployment[];
  /** The per-project deployments grouped by release (package, else commit): when each environment got it. */
  releases: BoardRelease[];
}

/** One release of a project and when each environment got it (its first successful deployment there). */
export interface BoardRelease {
  project: string;
  /** The package folder, else `commit <sha>`, else `plan <checksum>`. */
  release: string;
  /** Environment → ISO time of its first successful deployment of the release. */
  reached: Record<string, string>;
}

/** The release a deployment belongs to. */
export function releaseOf(d: BoardDeployment): string {
  if (d.package) return d.package;
  if (d.commit) return `commit ${d.commit.slice(0, 12)}`;
  return `plan ${d.planChecksum.replace(/^sha256:/, '').slice(0, 12)}`;
}

/** Releases of each project from the history: first success per environment, in order of first appearance. */
export function releasesOf(history: readonly BoardDeployment[]): BoardRelease[] {
  const out = new Map<string, BoardRelease>();
  const sorted = [...history].sort((a, b) => (a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : 0));
  for (const d of sorted) {
    if (d.kind !== 'deploy' || d.result !== 'succeeded') continue;
    const project = d.project;
    const release = releaseOf(d);
    const key = `${project}\0${release}`;
    const r = out.get(key) ?? { project, release, reached: {} };
    r.reached[d.environment] ??= d.finishedAt ?? d.startedAt;
    out.set(key, r);
  }
  return [...out.values()];
}

/** `dbee log --format json`'s entry as a board deployment. */
export function boardDeployment(environment: string, project: string, e: Record<string, unknown>): BoardDeployment {
  const who = (e.who ?? {}) as { osUser?: string | null; host?: string | null; dbUser?: string };
  const smoke = (e.smoke ?? {}) as { summary?: string };
  return {
    environment,
    project,
    id: Number(e.id),
    kind: String(e.kind),
    result: String(e.result),
    startedAt: String(e.startedAt),
    finishedAt: (e.finishedAt as string | null) ?? null,
    package: (e.package as string | null) ?? null,
    planChecksum: String(e.planChecksum ?? ''),
    commit: (e.commit as string | null) ?? null,
    ticket: (e.ticket as string | null) ?? null,
    by: who.osUser ? `${who.osUser}@${who.host ?? '?'}` : (who.dbUser ?? '?'),
    smoke: smoke.summary ?? 'not run',
    error: (e.error as string | null) ?? null,
  };
}

/** A cell from the deployments of `dbee log` (newest first) and the JSON of `dbee status`. */
export function boardCell(
  environment: string,
  project: string,
  deployments: readonly BoardDeployment[],
  status: Record<string, unknown>,
): BoardCell {
  const deployed = deployments.find((d) => d.result === 'succeeded' && d.kind !== 'rollback') ?? null;
  const failure = deployments.find((d) => ['failed', 'rolled-back', 'interrupted', 'aborted'].includes(d.result));
  const drift = ((status.drift ?? {}) as { state?: string }).state;
  const pending = ((status.pendingSteps ?? []) as { key: string }[]).map((p) => p.key);
  const inFlight = Object.entries(status)
    .filter(
      ([k, v]) => STRATEGY_KEYS.has(k) && !!v && typeof v === 'object' && !!(v as { inFlight?: unknown }).inFlight,
    )
    .map(
      ([k, v]) =>
        `${k === 'expand' ? 'expand-contract' : 'blue/green'}: ${String((v as { phase?: string }).phase ?? 'in flight')}`,
    );
  return {
    environment,
    project,
    reachable: true,
    error: null,
    deployed,
    lastFailure: failure && (!deployed || failure.id > deployed.id) ? failure : null,
    drift: drift === 'yes' || drift === 'no' ? drift : 'unknown',
    pending,
    inFlight,
  };
}

/** The keys `dbee status --format json` gives strategies' parts under (Strategy.status.key). */
const STRATEGY_KEYS = new Set(['expand', 'blueGreen']);

/** A cell of an environment that could not be read: shown as such, never blocking the page. */
export function unreachableCell(environment: string, project: string, error: string): BoardCell {
  return {
    environment,
    project,
    reachable: false,
    error,
    deployed: null,
    lastFailure: null,
    drift: 'not reachable',
    pending: [],
    inFlight: [],
  };
}
