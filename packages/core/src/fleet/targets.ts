import { exec } from 'node:child_process';
import { z } from 'zod';
import { DbeeError } from '../errors';
import type { FleetTarget } from '../config/resolve';
import { fleetTarget, targetLabels, type EnvironmentConfig } from '../config/schema';
import type { OperationContext } from '../context/operation-context';

/**
 * The targets of a fleet environment, in their declared (or discovered) order: the static list of dbee.yaml, the
 * rows of a discovery query against a catalog environment, or the JSON array a discovery command prints. Discovered
 * targets are remembered by the workspace, so that `<fleet>/<target>` resolves like a declared environment.
 * Every problem is refused before anything runs: a duplicate name, a row without a name, a literal password.
 */
export async function fleetTargets(ctx: OperationContext, fleet: string): Promise<FleetTarget[]> {
  const { workspace } = ctx;
  const config = workspace.config.environments[fleet]?.fleet;
  if (!config) throw new Error(`fleetTargets: ${fleet} is not a fleet`);
  const base = ['environments', fleet, 'fleet'];
  let targets: FleetTarget[];
  if (config.targets) {
    targets = config.targets.map((t, i) => ({ ...t, origin: { path: [...base, 'targets', i] } }));
  } else {
    const discover = config.discover!;
    const where = discover.query
      ? `the discovery query of environments.${fleet}`
      : `the discovery command of environments.${fleet}`;
    const rows = discover.query
      ? await queryRows(ctx, fleet, discover.environment!, discover.query)
      : await commandRows(ctx, fleet, discover.command!);
    targets = rows.map((row, i) =>
      parseDiscovered(ctx, fleet, row, `${where}, ${discover.query ? 'row' : 'item'} ${i + 1}`),
    );
    workspace.rememberFleetTargets(fleet, targets);
  }
  const seen = new Map<string, FleetTarget>();
  for (const t of targets) {
    const clash = seen.get(t.name);
    if (clash) {
      throw new DbeeError(`fleet ${fleet}: two targets are named "${t.name}"`, {
        code: 'FLEET_TARGET_DUPLICATE',
        location: locationOf(ctx, fleet, t),
        hint: 'give every target of a fleet its own name',
      });
    }
    seen.set(t.name, t);
    refuseLiteralSecrets(ctx, fleet, t);
  }
  return targets;
}

/** Whether an environment of dbee.yaml is a fleet. */
export function isFleet(config: EnvironmentConfig | undefined): boolean {
  return Boolean(config?.fleet);
}

function locationOf(ctx: OperationContext, fleet: string, t: FleetTarget) {
  return ctx.workspace.file.locate(
    'path' in t.origin ? [...t.origin.path, 'name'] : ['environments', fleet, 'fleet', 'discover'],
  );
}

/** A password (or a URL's password) must come from `${VAR}`: discovered or declared, it would otherwise be a secret in a file. */
function refuseLiteralSecrets(ctx: OperationContext, fleet: string, t: FleetTarget): void {
  const onlyRefs = (v: string) => /^(\$\{[A-Za-z_][A-Za-z0-9_]*\})+$/.test(v);
  for (const [k, v] of Object.entries(t.connection)) {
    const literalPassword =
      (/^pass(word)?$/i.test(k) && !(typeof v === 'string' && onlyRefs(v))) ||
      (typeof v === 'string' &&
        /^[a-z]+:\/\/[^/@:]*:([^@/]*)@/i.test(v) &&
        !onlyRefs(/^[a-z]+:\/\/[^/@:]*:([^@/]*)@/i.exec(v)![1]!));
    if (literalPassword) {
      throw new DbeeError(`fleet ${fleet}, target ${t.name}: connection.${k} holds a literal password`, {
        code: 'FLEET_LITERAL_SECRET',
        location: locationOf(ctx, fleet, t),
        hint: 'secrets come only from environment variables: write the password as ${VAR} (e.g. ${TENANT_PASSWORD}) and export VAR',
      });
    }
  }
}

const discoveredRow = z.looseObject({
  name: fleetTarget.shape.name,
  labels: z.preprocess(jsonText, targetLabels).optional(),
});

/** A row of a discovery query (a `name`, optional `labels`, connection columns) or an item of a command's JSON. */
function parseDiscovered(ctx: OperationContext, fleet: string, row: unknown, where: string): FleetTarget {
  const isCommandItem = typeof row === 'object' && row !== null && 'connection' in row;
  const parsed = isCommandItem
    ? fleetTarget.safeParse(row, { reportInput: true })
    : discoveredRow.safeParse(row, { reportInput: true });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const why =
      issue.code === 'invalid_type' && (issue.input === null || issue.input === undefined)
        ? `missing, expected ${issue.expected}`
        : issue.message;
    throw new DbeeError(`${where}: ${issue.path.join('.') || '(row)'}: ${why}`, {
      code: 'FLEET_DISCOVERY_INVALID',
      location: ctx.workspace.file.locate(['environments', fleet, 'fleet', 'discover']),
      hint: 'a target is a "name" (letters, digits, "_", "-"), optional "labels" (an object of text values) and connection settings',
    });
  }
  if (isCommandItem) {
    const t = parsed.data as z.infer<typeof fleetTarget>;
    return { name: t.name, connection: t.connection, labels: t.labels, origin: { discovered: where } };
  }
  const { name, labels, ...rest } = parsed.data as { name: string; labels?: Record<string, string> } & Record<
    string,
    unknown
  >;
  const connection: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(rest)) {
    if (v === null || v === undefined) continue;
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new DbeeError(`${where}: column ${k} is not a text, number or boolean`, {
        code: 'FLEET_DISCOVERY_INVALID',
        location: ctx.workspace.file.locate(['environments', fleet, 'fleet', 'discover', 'query']),
        hint: 'connection columns hold scalar values; cast them in the query (::text)',
      });
    }
    connection[k] = v;
  }
  return { name, connection, labels: labels ?? {}, origin: { discovered: where } };
}

function jsonText(v: unknown): unknown {
  if (typeof v !== 'string') return v ?? undefined;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

async function queryRows(ctx: OperationContext, fleet: string, catalogName: string, sql: string): Promise<unknown[]> {
  const catalog = ctx.workspace.environment(catalogName, ctx.env);
  const engine = ctx.engine(catalog.engine);
  const conn = await engine.connect(catalog, { workspaceRoot: ctx.workspace.root });
  try {
    return (await conn.query(sql)).rows;
  } catch (cause) {
    throw new DbeeError(
      `the discovery query of environments.${fleet} failed on ${catalogName}: ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        code: 'FLEET_DISCOVERY_FAILED',
        location: ctx.workspace.file.locate(['environments', fleet, 'fleet', 'discover', 'query']),
        hint: 'run the query on the catalog by hand and fix it; it returns one row per target with a "name" column',
        cause,
      },
    );
  } finally {
    await conn.close();
  }
}

async function commandRows(ctx: OperationContext, fleet: string, command: string): Promise<unknown[]> {
  const location = ctx.workspace.file.locate(['environments', fleet, 'fleet', 'discover', 'command']);
  const { stdout, error, stderr } = await new Promise<{ stdout: string; stderr: string; error: Error | null }>(
    (resolve) =>
      exec(command, { cwd: ctx.workspace.root, env: ctx.env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
        resolve({ error, stdout, stderr }),
      ),
  );
  if (error) {
    throw new DbeeError(
      `the discovery command of environments.${fleet} failed: ${stderr.trim().split('\n').slice(-3).join(' / ') || error.message}`,
      {
        code: 'FLEET_DISCOVERY_FAILED',
        location,
        hint: 'run the command by hand in the workspace root: it must exit 0 and print a JSON array of { name, connection, labels }',
      },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(stdout);
  } catch {
    value = undefined;
  }
  if (!Array.isArray(value)) {
    throw new DbeeError(`the discovery command of environments.${fleet} did not print a JSON array`, {
      code: 'FLEET_DISCOVERY_INVALID',
      location,
      hint: 'print a JSON array of { "name": ..., "connection": { ... }, "labels": { ... } }',
    });
  }
  return value;
}
