import { packagedExpand } from './expand-contract';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DbeeError } from '../errors';
import { ExitCode, type ExitCodeValue } from '../errors';
import { writePackage } from '../package/package';
import { releasePlan } from '../package/release-plan';
import { valuesHash, type ReleaseInfo } from '../package/release';
import { placeholderNames } from '../sources/placeholders';
import type { Plan } from '../plan/plan';
import type { ProjectModel } from '../planner/project-model';
import { planSourcesExplained, refuseNeedsDiff } from '../planner/planner';
import { diffPlan } from '../diffing/diff-plan';
import { serializePlan } from '../plan/serialize';
import { gitCommit } from '../context/origin';
import type { OperationContext } from '../context/operation-context';
import { loadTarget, modelLoader, schemaOwners } from '../context/load';
import { printPlan } from './print';
import { ConflictRules } from './conflicts';
import type { PlanOptions } from '../options';

export type { PlanOptions };

/**
 * `plan`: the full plan of a project's sources (every object, every migration; with its dependencies unless
 * `--no-deps`), printed or frozen into a package. Needs no database: the runner skips what a target's ledger already
 * has when the package is deployed. With `--base`, an incremental release from one git ref to another (see
 * `releasePlan`); with `--diff`, `--against-env` or `--head` alone, a gap package bound to one database's state.
 */
export async function plan(ctx: OperationContext, options: PlanOptions): Promise<ExitCodeValue> {
  const { workspace } = ctx;
  const { environment, target, engine, models, all } = await loadTarget(ctx, options.project, options.env);
  const withDeps = options.withDependencies ?? true;
  const planned = withDeps ? all.map((p) => p.name) : [target.name];
  let result: Plan;
  let release: ReleaseInfo | undefined;
  let packaged: ProjectModel[] = models.filter((m) => planned.includes(m.project.name));
  if (options.base && !options.againstEnv && !options.diff) {
    const r = await releasePlan(ctx, {
      project: target.name,
      env: options.env,
      base: options.base,
      head: options.head,
      withDependencies: withDeps,
      safe: options.safe,
    });
    ({ plan: result, release } = r);
    packaged = r.models;
  } else if (options.diff || options.againstEnv || options.base || options.head) {
    // With diff selectors, the plan is the diff: a gap package that brings one side to the other.
    result = (await diffPlan(ctx, { ...options, project: target.name })).plan;
    packaged = models.filter((m) => m.project.name === target.name);
  } else {
    if (options.safe) {
      throw new DbeeError(
        '--safe rewrites what is planned against a database or between two git refs, not the full plan of the sources',
        {
          code: 'OPTIONS_INVALID',
          hint: 'plan a release with --base <ref> --safe, or a gap package with --diff --safe; deploy --safe rewrites a plan from the sources against the target',
        },
      );
    }
    // `dbee plan` shows a plan from sources: a changed table is refused with how to plan it (`dbee diff`).
    result = refuseNeedsDiff(
      await planSourcesExplained(
        {
          engine,
          models,
          planned,
          schemaOwners: schemaOwners(ctx, environment),
          sourceCommit: await gitCommit(workspace.root),
        },
        modelLoader(ctx, environment, engine),
      ),
    );
  }
  release ??= {
    target: target.name,
    base: null,
    head: { ref: null, commit: result.sourceCommit ?? (await gitCommit(workspace.root)) },
    variables: Object.fromEntries(
      packaged.map((m) => {
        const names = placeholderNames([...m.files, ...m.smoke].map((f) => f.text));
        // A gap package's SQL comes from models built with this environment's values, like an incremental one's.
        return [
          m.project.name,
          {
            names,
            ...(result.baseFingerprint
              ? { renderedWith: { environment: environment.name, valuesHash: valuesHash(names, m.variables) } }
              : {}),
          },
        ];
      }),
    ),
    preconditions: [],
    dependsOn: Object.fromEntries(packaged.map((m) => [m.project.name, [...m.graph.dependsOn]])),
    smoke: {},
  };
  if (options.format && !['text', 'json'].includes(options.format)) {
    const exporter = engine.export;
    if (!exporter?.formats.includes(options.format)) {
      throw new DbeeError(
        `--format ${options.format}: the ${engine.name} engine exports text, json${exporter?.formats.length ? ', ' + exporter.formats.join(', ') : ''}`,
        {
          code: 'OPTIONS_INVALID',
        },
      );
    }
    if (!options.out)
      throw new DbeeError(`--format ${options.format} writes files: give --out <folder>`, { code: 'OPTIONS_INVALID' });
    const dir = workspace.commandLinePath(options.out);
    mkdirSync(dir, { recursive: true });
    // The target environment's transaction mode, ledger and conflict rules shape the script (BTEQ).
    const rules = new ConflictRules(workspace, environment, undefined);
    const files = await exporter.exportPlan(result, options.format, {
      variables: workspace.settings(target, environment).variables,
      environment,
      conflictStrategy: (step) => rules.ruleFor(step).strategy,
      copyData: (step) => rules.ruleFor(step).copyData,
    });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    ctx.reporter.info(`${options.format} scripts written to ${dir}: ${Object.keys(files).join(', ')}`);
    return ExitCode.ok;
  }
  if (options.out) {
    const dir = workspace.commandLinePath(options.out);
    const strategy = options.strategy ?? workspace.settings(target, environment).deploy.strategy;
    if (strategy === 'expand-contract') {
      if (options.head || options.diff || options.againstEnv)
        throw new DbeeError('--strategy expand-contract packages are made from the working tree (or --base with it)', {
          code: 'OPTIONS_INVALID',
          hint: 'check out the release and run dbee plan from there, without --head, --diff or --against-env',
        });
      release.expand = await packagedExpand(ctx, { engine, environment, models, target: target.name });
    }
    const manifest = writePackage(dir, result, {
      toolVersion: ctx.toolVersion,
      sources: packaged.flatMap((m) => m.files),
      release,
      smoke: new Map(packaged.map((m) => [m.project.name, m.smoke])),
    });
    const from = release.base
      ? ` from ${release.base.ref} to ${release.head.ref ?? 'the working tree'}, ${release.preconditions.length} precondition${release.preconditions.length === 1 ? '' : 's'}`
      : '';
    ctx.reporter.info(
      `package of ${result.projects.join(', ')} written to ${dir}${from}: ${manifest.steps.length} steps, ${Object.keys(manifest.files).length} files, ${manifest.planChecksum}`,
    );
    return ExitCode.ok;
  }
  if (options.format === 'json') ctx.stdout.write(serializePlan(result));
  else printPlan(ctx.stdout, result, models);
  return ExitCode.ok;
}
