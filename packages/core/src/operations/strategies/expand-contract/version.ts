import { openLedger } from '../../../ledger/open-ledger';
import { requireRole } from '../../../engine/engine';
import { DbeeError, ExitCode, type ExitCodeValue } from '../../../errors';
import { releaseSlug } from '../../../expand/expand-plan';
import type { ExpandRelease } from '../../../expand/phases';
import type { VersionOptions } from '../../../options';
import { canonicalJson } from '../../../plan/serialize';
import { withSession } from '../../../runner/session';
import { engineFor, type OperationContext } from '../../../context/operation-context';
import { type Phases, strategyLockTimeout } from './settings';

/** Open a session on the project's environment with its release in flight (or null), for complete, abort, version. */
export async function withRelease<T>(
  ctx: OperationContext,
  options: { project: string; env?: string },
  fn: (p: Phases, inFlight: ExpandRelease | null) => Promise<T>,
): Promise<T> {
  const environment = ctx.workspace.environment(options.env, ctx.env);
  const target = ctx.workspace.project(options.project);
  const engine = engineFor(ctx, environment, [target]);
  const expand = requireRole(engine, 'expand', 'run the expand-contract strategy');
  const settings = ctx.workspace.settings(target, environment).deploy;
  return withSession(
    { engine, environment, workspaceRoot: ctx.workspace.root, reporter: ctx.reporter, deploy: settings },
    async (session) => {
      const { conn } = session;
      const ledger = openLedger(conn, engine.ledger).releases;
      const p: Phases = {
        ctx,
        engine,
        expand,
        environment,
        conn,
        ledger,
        lockTimeoutMs: strategyLockTimeout(ctx, target.name, environment),
        session,
        waits: [],
      };
      return fn(p, await ledger.inFlight(target.name));
    },
  );
}

export function noRelease(project: string, env: string, what: string): DbeeError {
  return new DbeeError(`nothing to ${what}: no expand-contract release of ${project} is in flight on ${env}`, {
    code: 'EXPAND_NONE',
    hint: `start one with dbee deploy ${project} --env ${env} --strategy expand-contract`,
  });
}

/** What `dbee version` prints. */
export interface VersionInfo {
  project: string;
  environment: string;
  release: string;
  /** The release's phase (`expanded`, `done`...). */
  phase: string;
  searchPath: string[];
  settings: Record<string, string>;
  /** The same as libpq `options` (`PGOPTIONS`, `?options=` of a URL). */
  options: string;
}

/** `version`: the search path and setting an application uses for a release (default: the newest usable one). */
export async function version(ctx: OperationContext, options: VersionOptions): Promise<ExitCodeValue> {
  return withRelease(ctx, options, async (p, flying) => {
    const env = p.environment.name;
    const all = await p.ledger.releases(options.project);
    const usable = all.filter(
      (r) => r.phase === 'done' || r.phase === 'expanded' || (r.id === flying?.id && r.phase === 'contracting'),
    );
    const lastDone = all.find((r) => r.phase === 'done');
    let chosen: { release: string; phase: string; schemas: string[] } | undefined;
    if (options.release !== undefined) {
      const slug = releaseSlug(options.release);
      const r = usable.find((x) => releaseSlug(x.release) === slug);
      if (r) chosen = { release: r.release, phase: r.phase, schemas: r.plan.schemas };
      else if (flying && releaseSlug(flying.plan.previous) === slug)
        chosen = { release: flying.plan.previous, phase: 'previous', schemas: flying.plan.schemas };
      if (!chosen || (lastDone && r?.phase === 'done' && r.id !== lastDone.id && flying?.plan.previous !== r.release))
        throw new DbeeError(`release ${options.release} of ${options.project} has no version schema on ${env}`, {
          code: 'EXPAND_NONE',
          hint: `the versions served now: ${[flying?.plan.previous, flying?.phase === 'expanded' ? flying.release : undefined, lastDone?.release].filter(Boolean).join(', ') || 'none'}`,
        });
    } else {
      const r = flying?.phase === 'expanded' || flying?.phase === 'contracting' ? flying : lastDone;
      if (r) chosen = { release: r.release, phase: r.phase, schemas: r.plan.schemas };
      else if (flying) chosen = { release: flying.plan.previous, phase: 'previous', schemas: flying.plan.schemas };
    }
    if (!chosen) throw noRelease(options.project, env, 'print');
    const s = p.expand.versionSettings(chosen.schemas, chosen.release);
    const info: VersionInfo = {
      project: options.project,
      environment: env,
      release: chosen.release,
      phase: chosen.phase,
      searchPath: s.searchPath,
      settings: s.settings,
      options: [
        `-c search_path=${s.searchPath.join(',')}`,
        ...Object.entries(s.settings).map(([k, v]) => `-c ${k}=${v}`),
      ].join(' '),
    };
    if (options.format === 'json') ctx.stdout.write(canonicalJson(info));
    else
      ctx.stdout.write(
        `${info.project} on ${env}: release ${info.release} (${info.phase})\n` +
          `search_path: ${info.searchPath.join(', ')}\n` +
          Object.entries(info.settings)
            .map(([k, v]) => `${k}: ${v}\n`)
            .join('') +
          `options: ${info.options}\n`,
      );
    return ExitCode.ok;
  });
}
