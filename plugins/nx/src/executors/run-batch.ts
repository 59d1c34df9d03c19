import './compile-cache'; // first: before what it caches
// Not `@dbee/core`, which loads every module of core: a batch loads what its command runs (core's operations/run.ts).
import { SessionPool } from '@dbee/core/run';
import { saveCompileCache } from '@dbee/core/compile-cache';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { releaseEngines } from '@dbee/cli/run';
import { runTask, type DbeeCommand, type TaskRun } from './run-command-executor';

/** One task's result as a batch executor reports it (Nx's `BatchExecutorTaskResult`, not exported by the devkit). */
export interface BatchTaskResult {
  task: string;
  result: {
    success: boolean;
    terminalOutput: string;
    startTime?: number;
    endTime?: number;
    status?: 'success' | 'failure' | 'skipped';
  };
}

/**
 * Runs a batch of tasks of one command in this process, one after the other, dependencies first (as ordered by
 * `taskGraph.dependencies`), and yields each task's result as soon as it is known, so Nx prints, caches and
 * reports it at once. One process for hundreds of projects instead of one fork each (about 0.5 s of CPU per fork).
 *
 * Sequential on purpose: the tasks connect to the environments' databases, and an embedded database admits one
 * user at a time. A task whose dependency failed in the same batch is skipped.
 */
export async function* runBatch(
  command: DbeeCommand,
  taskGraph: TaskGraph,
  inputs: Record<string, object>,
  context: ExecutorContext,
  guardFor?: (nxProject: string) => TaskRun['guard'],
  options: { echoDependencies?: boolean } = {},
): AsyncGenerator<BatchTaskResult> {
  const ids = Object.keys(inputs);
  const failed = new Set<string>();
  const echo = options.echoDependencies ? dependenciesToEcho(context.taskGraph ?? taskGraph, ids) : new Set<string>();
  // One lock, connection and shadow per environment for the whole batch, instead of one per task; the batch's projects
  // for what the tasks read at once (the drift stage's live fingerprints).
  const projects = ids.map((id) => (inputs[id] as { project?: unknown }).project).filter((p) => typeof p === 'string');
  const sessions = new SessionPool(projects);
  try {
    for (const id of taskOrder(taskGraph, ids)) {
      const nxProject = taskGraph.tasks[id]?.target.project ?? id.split(':')[0]!;
      const startTime = Date.now();
      const blockedBy = dependenciesOf(taskGraph, id, ids).filter((dep) => failed.has(dep));
      if (blockedBy.length > 0) {
        failed.add(id);
        yield {
          task: id,
          result: {
            success: false,
            status: 'skipped',
            terminalOutput: `not run: ${blockedBy.join(', ')} failed\n`,
            startTime,
            endTime: startTime,
          },
        };
        continue;
      }
      const output = new CapturedOutput();
      const io = { stdout: output.stream(), stderr: output.stream() };
      const code = await runTask(inputs[id]!, {
        command,
        workspaceRoot: context.root,
        nxProject,
        io,
        guard: guardFor?.(nxProject),
        sessions,
      });
      if (code !== 0) failed.add(id);
      if (echo.has(id) && code === 0) process.stdout.write(output.text);
      yield { task: id, result: { success: code === 0, terminalOutput: output.text, startTime, endTime: Date.now() } };
    }
  } finally {
    await sessions.close();
    await releaseEngines();
    saveCompileCache(); // Nx may end this worker without an exit event
  }
}

/**
 * The batch tasks whose output is echoed to the terminal as they finish: under `nx run db-reporting:deploy`, the
 * deployments of its dependencies. Nx's default output outside a terminal (CI, scripts: `static-failures-only`)
 * prints the full output of the project asked for and one line for each successful dependency ("Output of 2
 * successful tasks were not shown"), and operators read what each deployment did. The worker's standard output
 * reaches the terminal as it is written. Only for a run of one project (one task of the run that no other depends
 * on): `run-many` and `affected` print every task alike (the CI pipeline sets NX_DEFAULT_OUTPUT_STYLE=static). Not
 * with the TUI (every task's output has its own pane), `--verbose`, or an output style other than
 * static-failures-only (each prints every task in full, or on purpose none), whether NX_DEFAULT_OUTPUT_STYLE or the
 * command line's `--output-style` names it (see `outputStyle`).
 */
function dependenciesToEcho(fullGraph: TaskGraph, ids: readonly string[]): Set<string> {
  const style = outputStyle();
  const printsAll = style !== undefined && style !== '' && style !== 'static-failures-only';
  if (process.env['NX_TUI'] === 'true' || process.env['NX_VERBOSE_LOGGING'] === 'true' || printsAll) return new Set();
  const all = Object.keys(fullGraph.tasks);
  const dependedOn = new Set(all.flatMap((id) => dependenciesOf(fullGraph, id, all)));
  const requested = all.filter((id) => !dependedOn.has(id));
  if (requested.length !== 1) return new Set();
  return new Set(ids.filter((id) => id !== requested[0] && dependedOn.has(id)));
}

/**
 * The output style of the Nx run this batch belongs to: `--output-style` (or `--outputStyle`) on the command line of
 * the Nx process, else NX_DEFAULT_OUTPUT_STYLE (Nx's own precedence). Nx passes neither its command line nor the
 * style it chose to a batch worker; the worker is a child of that Nx process, whose command line the system shows
 * (/proc on Linux, `ps` elsewhere). Where neither can be read, only the environment variable counts.
 */
export function outputStyle(
  argv: readonly string[] | null = parentCommandLine(),
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  for (const [i, arg] of (argv ?? []).entries()) {
    const m = /^--output-?[sS]tyle(?:=(.*))?$/.exec(arg);
    if (m) return m[1] ?? argv![i + 1];
  }
  return env['NX_DEFAULT_OUTPUT_STYLE'];
}

/** The arguments of this process's parent, or null when the system does not say. */
function parentCommandLine(): string[] | null {
  try {
    return readFileSync(`/proc/${process.ppid}/cmdline`, 'utf8').split('\0');
  } catch {
    // No /proc (macOS): `ps` prints the command line with spaces between the arguments.
  }
  if (process.platform === 'win32') return null;
  try {
    const out = execFileSync('ps', ['-o', 'args=', '-p', String(process.ppid)], { encoding: 'utf8', stdio: 'pipe' });
    return out.trim().split(/\s+/);
  } catch {
    return null;
  }
}

/** `ids` ordered so that every task comes after the tasks it depends on; ties keep the task ids sorted. */
export function taskOrder(taskGraph: TaskGraph, ids: readonly string[]): string[] {
  const pending = new Set(ids);
  const done = new Set<string>();
  const order: string[] = [];
  while (pending.size > 0) {
    const ready = [...pending].filter((id) => dependenciesOf(taskGraph, id, ids).every((dep) => done.has(dep))).sort();
    // A cycle cannot reach a batch (Nx refuses cyclic task graphs); if one did, run the rest in name order.
    const next = ready.length > 0 ? ready : [...pending].sort();
    for (const id of next) {
      pending.delete(id);
      done.add(id);
      order.push(id);
    }
  }
  return order;
}

/** The batch tasks `id` depends on. Edges are `{ id }` objects in Nx 24, plain ids in older versions. */
function dependenciesOf(taskGraph: TaskGraph, id: string, ids: readonly string[]): string[] {
  const edges = (taskGraph.dependencies[id] ?? []) as ReadonlyArray<string | { id: string }>;
  return edges.map((e) => (typeof e === 'string' ? e : e.id)).filter((dep) => ids.includes(dep));
}

/**
 * Everything one task printed, stdout and stderr interleaved as written. Not echoed to the terminal: Nx prints each
 * task's output as soon as the batch yields its result, and replays it from the cache later.
 */
class CapturedOutput {
  text = '';
  stream(): Writable {
    return new Writable({
      write: (chunk: Buffer | string, _encoding, callback) => {
        this.text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
        callback();
      },
    });
  }
}
