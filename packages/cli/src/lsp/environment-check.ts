import { Writable } from 'node:stream';
import type { DeployedProject, DiagnosticSeverity, EnvironmentFinding, EnvironmentState } from '@dbee/core/lsp';
import { objectAt } from '@dbee/core/lsp';
import type { SourceObject } from '@dbee/core';

/** How a check runs one dbee command: the CLI's own `runDbeeCommand`, with what it prints captured. */
export type RunCommand = (
  command: 'plan' | 'status',
  options: Record<string, unknown>,
) => Promise<{ code: number; stdout: string; stderr: string }>;

/** `runDbeeCommand` in this process, its output captured: the same path as the command line, gates and all. */
export function runInProcess(root: string, env: NodeJS.ProcessEnv): RunCommand {
  return async (command, options) => {
    const { runDbeeCommand } = await import('../run-command');
    const out: string[] = [];
    const err: string[] = [];
    const sink = (into: string[]) => new Writable({ write: (c, _e, cb) => (into.push(String(c)), cb()) });
    const code = await runDbeeCommand(command, options as never, {
      workspaceRoot: root,
      stdout: sink(out),
      stderr: sink(err),
      env,
      interactive: false,
    });
    return { code, stdout: out.join(''), stderr: err.join('') };
  };
}

/**
 * What the saved sources of `projects` would do to `environment` (null: the workspace's default), through the
 * commands a user would run: `dbee plan --diff --format sarif` (the plan's hazards and the review policies' findings,
 * each at its object's file and line) and `dbee status --format json` (the last deployment, the pending steps, drift).
 * A project that cannot be checked (an unreachable database, a missing variable) keeps the command's own error.
 */
export async function checkEnvironment(
  run: RunCommand,
  projects: readonly string[],
  environment: string | null,
  objects: readonly SourceObject[],
  now: () => Date = () => new Date(),
): Promise<EnvironmentState> {
  const state: EnvironmentState = {
    environment: environment ?? '(default)',
    checkedAt: now().toISOString(),
    findings: [],
    projects: new Map(),
  };
  const env = environment ? { env: environment } : {};
  for (const project of projects) {
    const status = await run('status', { project, ...env, format: 'json' });
    const report = parseJson(status.stdout) as StatusJson | null;
    if (!report) {
      state.projects.set(project, { last: null, pending: [], drifted: [], error: firstLine(status.stderr) });
      continue;
    }
    state.environment = report.environment ?? state.environment;
    const planned = await run('plan', { project, ...env, diff: true, withDependencies: false, format: 'sarif' });
    const sarif = parseJson(planned.stdout) as SarifLog | null;
    const findings = sarif ? sarifFindings(sarif, objects) : [];
    state.findings.push(...findings);
    state.projects.set(project, {
      last: lastOf(report),
      pending: [
        ...new Set([...(report.pendingSteps ?? []).map((s) => s.key), ...findings.flatMap((f) => f.object ?? [])]),
      ],
      drifted: report.drift?.objects ?? [],
      // A plan that printed no findings and failed: its error is the project's (a policy refusal prints its findings).
      ...(!sarif && planned.code !== 0 ? { error: firstLine(planned.stderr) } : {}),
    });
  }
  return state;
}

interface StatusJson {
  environment?: string;
  lastDeployment: {
    id: number;
    kind: string;
    status: string;
    finished_at: string | null;
    started_at: string;
    os_user: string | null;
    host: string | null;
    git_commit: string | null;
  } | null;
  pendingSteps?: { key: string }[];
  drift?: { objects?: string[] };
}

interface SarifLog {
  runs?: {
    results?: {
      ruleId?: string;
      level?: string;
      message?: { text?: string };
      locations?: { physicalLocation?: { artifactLocation?: { uri?: string }; region?: { startLine?: number } } }[];
    }[];
  }[];
}

const LEVEL: Record<string, DiagnosticSeverity> = { error: 'error', warning: 'warning', note: 'information' };

/** The results of a SARIF log as findings, each about the object defined where it is placed, when one is. */
export function sarifFindings(log: SarifLog, objects: readonly SourceObject[]): EnvironmentFinding[] {
  return (log.runs ?? []).flatMap((run) =>
    (run.results ?? []).flatMap((r) => {
      const where = r.locations?.[0]?.physicalLocation;
      const file = where?.artifactLocation?.uri;
      if (!file) return [];
      const line = where.region?.startLine ?? 1;
      const o = objectAt(objects, file, line);
      return [
        {
          object: o?.id ?? null,
          ...(o && line > o.location.line ? { lineInObject: line - o.location.line } : {}),
          file,
          line,
          severity: LEVEL[r.level ?? 'warning'] ?? 'warning',
          code: r.ruleId ?? 'dbee',
          message: r.message?.text ?? '',
        },
      ];
    }),
  );
}

function lastOf(report: StatusJson): DeployedProject['last'] {
  const d = report.lastDeployment;
  if (!d) return null;
  const by = [d.os_user, d.host].filter(Boolean).join('@') || 'unknown';
  return { id: d.id, at: d.finished_at ?? d.started_at, by, kind: d.kind, status: d.status, commit: d.git_commit };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The first line of what a command printed on stderr (its error, without the hint). */
function firstLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')[0]
      ?.replace(/^error: /, '') || 'the command failed without a message'
  );
}
