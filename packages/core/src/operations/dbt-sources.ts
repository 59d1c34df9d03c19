import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { stagingModel, writeDbtSources } from '../check/dbt-sources';
import { loadTarget } from '../context/load';
import type { OperationContext } from '../context/operation-context';
import { desiredModelFor } from '../diffing/desired';
import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import type { DbtSourcesOptions } from '../options';

/**
 * `dbee dbt-sources`: the project's desired schema (built in a shadow database from the sources; no target is read) as
 * dbt sources YAML, written or updated in place (see `writeDbtSources` for what is kept), and, with `--staging`, one
 * staging model per table and view that does not exist yet.
 */
export async function dbtSources(ctx: OperationContext, options: DbtSourcesOptions): Promise<ExitCodeValue> {
  const { workspace } = ctx;
  if (!options.out)
    throw new DbeeError('dbt-sources needs the YAML file to write', {
      code: 'OPTIONS_INVALID',
      hint: 'give --out <file>, e.g. --out analytics/models/sources/sales.yml (in the dbt project)',
    });
  const { environment, target, engine, models } = await loadTarget(ctx, options.project, options.env);
  const { model } = await desiredModelFor(ctx, { engine, environment, models, target: target.name });
  const schemas = models.find((m) => m.project.name === target.name)!.graph.schemas;
  const sourceName = (schema: string) =>
    options.sourceName ?? (schemas.length === 1 ? target.name : `${target.name}_${schema.toLowerCase()}`);
  const out = workspace.commandLinePath(options.out);
  const shown = relative(workspace.root, out) || out;
  const existing = existsSync(out) ? readFileSync(out, 'utf8') : undefined;
  const text = writeDbtSources({
    model,
    schemas,
    sourceName,
    database: options.database,
    existing,
    file: shown,
  });
  mkdirSync(dirname(out), { recursive: true });
  if (text !== existing) writeFileSync(out, text);
  const relations = [...model.tables, ...model.views].filter((r) => schemas.includes(r.key.schema));
  ctx.reporter.info(
    `${shown}: ${existing === undefined ? 'written' : text === existing ? 'up to date' : 'updated'} (${relations.length} table${relations.length === 1 ? '' : 's'} and views of ${schemas.join(', ')})`,
  );
  if (options.staging) {
    const folder = workspace.commandLinePath(options.staging);
    mkdirSync(folder, { recursive: true });
    let written = 0;
    for (const r of relations) {
      const source = sourceName(r.key.schema);
      const file = join(folder, `stg_${source}__${r.key.name.toLowerCase()}.sql`);
      if (existsSync(file)) continue;
      writeFileSync(
        file,
        stagingModel(
          source,
          r.key.name,
          r.columns.map((c) => c.name),
        ),
      );
      written++;
    }
    ctx.reporter.info(
      `${relative(workspace.root, folder) || folder}: ${written} staging model${written === 1 ? '' : 's'} written`,
    );
  }
  return ExitCode.ok;
}
