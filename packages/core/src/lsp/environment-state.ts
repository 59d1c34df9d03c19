import type { SourceObject } from '../planner/objects';
import type { DiagnosticSeverity, EditorDiagnostic } from './editor-diagnostic';
import { keyRange } from './places';
import type { WorkspaceIndex } from './workspace-index';

/**
 * What the workspace's saved files would do to one environment, as `dbee plan --diff` and `dbee status` say it (the
 * language server runs them on demand, never on a keystroke: `dbee lsp`'s `dbee.checkEnvironment` command, and on save
 * where the client asks for it). The editor shows the findings as diagnostics and the deployed state in the hover.
 */
export interface EnvironmentState {
  environment: string;
  /** When the check ran (ISO 8601). */
  checkedAt: string;
  /** The plan's hazards and the review policies' findings, each where the plan places it. */
  findings: EnvironmentFinding[];
  /** What the environment's ledger says of each project checked. */
  projects: Map<string, DeployedProject>;
}

/** One hazard or policy finding of the plan against the environment. */
export interface EnvironmentFinding {
  /**
   * The object it is about (`table:core.customers`), placed at its name wherever later edits move it, and dropped
   * when the object is gone from the sources; null: placed at `file` and `line` as they were at the check.
   */
  object: string | null;
  file: string;
  line: number;
  /**
   * With `object`: the finding's line counted from the object's first line (0: at the object's name; a policy about
   * one column of a table: that column's line), so that it follows the object through edits above it.
   */
  lineInObject?: number;
  severity: DiagnosticSeverity;
  /** The rule (`hazard/data-loss/column-type-loss`, `policy/...`). */
  code: string;
  message: string;
}

/** A project as the environment's ledger knows it. */
export interface DeployedProject {
  /** Its last deployment there, or null when it has none. */
  last: { id: number; at: string; by: string; kind: string; status: string; commit: string | null } | null;
  /** Objects a deployment would change there (object ids), as `dbee status` lists them and the plan's findings name them. */
  pending: string[];
  /** Objects changed there by hand since dbee deployed them (object ids); empty when it has not drifted. */
  drifted: string[];
  /** Why the project could not be checked, when it could not (the command's own error). */
  error?: string;
}

/**
 * The object whose statement holds `file`:`line` (the place a plan step or a policy finding names): the last object
 * of the file that starts at or before the line, when one does.
 */
export function objectAt(objects: readonly SourceObject[], file: string, line: number): SourceObject | undefined {
  let found: SourceObject | undefined;
  for (const o of objects)
    if (o.location.file === file && o.location.line <= line && (!found || o.location.line > found.location.line))
      found = o;
  return found;
}

/**
 * The findings of `state` as diagnostics of the files as the index holds them now: a finding about an object at that
 * object's name (it moves with edits; gone with the object), any other at its line. The message names the environment
 * and when it was checked, since the diagnostic says what the saved files would do there.
 */
export function environmentDiagnostics(
  ws: WorkspaceIndex,
  objects: readonly SourceObject[],
  state: EnvironmentState | null,
): EditorDiagnostic[] {
  if (!state) return [];
  const byId = new Map(objects.map((o) => [o.id, o]));
  const out: EditorDiagnostic[] = [];
  for (const f of state.findings) {
    const message = `${state.environment}: ${f.message}`;
    const o = f.object === null ? undefined : byId.get(f.object);
    if (f.object !== null) {
      const source = o && ws.source(o.location.file);
      if (!o || !source) continue;
      const template = o.statements[0]?.template ?? '';
      const range = f.lineInObject
        ? source.lines.lineRange(o.location.line - 1 + f.lineInObject)
        : keyRange(source, { location: o.location, template }, o.key);
      out.push({ file: o.location.file, range, severity: f.severity, code: f.code, message });
      continue;
    }
    const lines = ws.linesOf(f.file);
    if (!lines) continue;
    out.push({
      file: f.file,
      range: lines.lineRange(Math.max(0, f.line - 1)),
      severity: f.severity,
      code: f.code,
      message,
    });
  }
  return out;
}

/** What the hover says of `o` in the environment checked: its project's last deployment, and the object's own state. */
export function deployedLines(state: EnvironmentState | null, o: SourceObject): string[] {
  if (!state) return [];
  const p = state.projects.get(o.project);
  const env = `**${state.environment}**`;
  if (!p) return [`${env}: not checked (run the command "dbee: check against the environment")`];
  if (p.error) return [`${env}: could not be read at ${time(state.checkedAt)}: ${p.error}`];
  const last = p.last
    ? `last deployment of ${o.project} #${p.last.id} (${p.last.kind}, ${p.last.status}) at ${p.last.at} by ${p.last.by}${p.last.commit ? `, commit ${p.last.commit.slice(0, 12)}` : ''}`
    : `${o.project} was never deployed there`;
  // No claim that an object is as its source says: `status` names the steps pending by their first object only.
  const mine = p.drifted.includes(o.id)
    ? '; this object has **drifted** (changed there by hand since dbee deployed it)'
    : p.pending.includes(o.id)
      ? '; this object is **pending**: the saved sources change it there'
      : '';
  return [`${env} (checked ${time(state.checkedAt)}): ${last}${mine}`];
}

const time = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
