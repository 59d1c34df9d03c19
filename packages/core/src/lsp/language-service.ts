import type { ColumnDefinition } from '../model/source';
import type { SourceObject } from '../planner/objects';
import { analyse, type WorkspaceAnalysis } from './analysis';
import { codeActions, type EditorAction } from './code-actions';
import { ColumnIndex, columnDetail } from './columns';
import { completions, type EditorCompletion } from './completion';
import type { EditorDiagnostic } from './editor-diagnostic';
import { deployedLines, environmentDiagnostics, type EnvironmentState } from './environment-state';
import { Navigator, type EditorLocation, type EditorSymbol } from './navigation';
import type { TextPosition, TextRange } from './text';
import type { WorkspaceIndex } from './workspace-index';

/** What a hover shows: Markdown, and the name it is about. */
export interface EditorHover {
  markdown: string;
  range: TextRange;
}

/**
 * Everything the language server answers, over one `WorkspaceIndex`: diagnostics, navigation, hover, symbols,
 * completion and code actions. What is derived from the whole workspace (resolution, diagnostics, who uses what) is
 * computed once per change of the index, on first use.
 */
export class LanguageService {
  private cached: {
    generation: number;
    analysis: WorkspaceAnalysis;
    navigator?: Navigator;
    columns?: ColumnIndex;
  } | null = null;
  /** The last check against an environment (`setEnvironment`), or null before the first. */
  private environment: EnvironmentState | null = null;

  constructor(readonly index: WorkspaceIndex) {}

  /** The analysis of the index as it is now. */
  analysis(): WorkspaceAnalysis {
    if (this.cached?.generation !== this.index.generation)
      this.cached = { generation: this.index.generation, analysis: analyse(this.index) };
    return this.cached.analysis;
  }

  private navigator(): Navigator {
    const analysis = this.analysis();
    this.cached!.navigator ??= new Navigator(this.index, analysis);
    return this.cached!.navigator;
  }

  private columns(): ColumnIndex {
    const analysis = this.analysis();
    this.cached!.columns ??= new ColumnIndex(this.index, analysis);
    return this.cached!.columns;
  }

  /** Every file's diagnostics, by workspace-relative path: the workspace's own, then the last environment check's. */
  diagnostics(): Map<string, EditorDiagnostic[]> {
    const analysis = this.analysis();
    const found = environmentDiagnostics(this.index, analysis.objects, this.environment);
    if (!found.length) return analysis.diagnostics;
    const all = new Map([...analysis.diagnostics].map(([file, list]) => [file, [...list]]));
    for (const d of found) all.set(d.file, [...(all.get(d.file) ?? []), d]);
    return all;
  }

  /** What a check against an environment found (hazards, policy findings, the deployed state), kept until the next. */
  setEnvironment(state: EnvironmentState): void {
    this.environment = state;
  }

  /** The last check against an environment, or null. */
  environmentState(): EnvironmentState | null {
    return this.environment;
  }

  /** Where the object named at `position` is defined (each overload of a routine), or the column named there. */
  definition(path: string, position: TextPosition): EditorLocation[] {
    const nav = this.navigator();
    const found = nav.objectsAt(path, position);
    if (found) return found.objects.flatMap((o) => nav.definitionOf(o) ?? []);
    const column = this.columns().columnAt(path, position);
    const definition = column && this.columns().definitionOf(column.column);
    return definition ? [definition] : [];
  }

  /**
   * Every place that uses the object named at `position`, its definition first when asked for; for a column, the
   * places that write it qualified (`o.customer_id`).
   */
  references(path: string, position: TextPosition, includeDeclaration: boolean): EditorLocation[] {
    const nav = this.navigator();
    const found = nav.objectsAt(path, position);
    const out: EditorLocation[] = [];
    const column = found ? null : this.columns().columnAt(path, position);
    if (column) {
      const definition = this.columns().definitionOf(column.column);
      if (includeDeclaration && definition) out.push(definition);
      out.push(...this.columns().usesOf(column.object, column.column));
      return out;
    }
    for (const o of found?.objects ?? []) {
      const definition = nav.definitionOf(o);
      if (includeDeclaration && definition) out.push(definition);
      out.push(...nav.usesOf(o).map((u) => u.location));
    }
    return out;
  }

  /** The object named at `position`: its kind and name, project, definition, what it uses and what uses it. */
  hover(path: string, position: TextPosition): EditorHover | null {
    const nav = this.navigator();
    const found = nav.objectsAt(path, position);
    if (!found) {
      const column = this.columns().columnAt(path, position);
      return column && { markdown: describeColumn(column.object, column.column), range: column.range };
    }
    const markdown = found.objects
      .map((o) => [describe(nav, o), ...deployedLines(this.environment, o)].join('\n\n'))
      .join('\n\n---\n\n');
    return { markdown, range: found.range };
  }

  documentSymbols(path: string): EditorSymbol[] {
    return this.navigator().documentSymbols(path);
  }

  workspaceSymbols(query: string): EditorSymbol[] {
    return this.navigator().workspaceSymbols(query);
  }

  completions(path: string, position: TextPosition): EditorCompletion[] {
    return completions(this.index, this.analysis(), path, position, this.columns());
  }

  codeActions(path: string, range: TextRange): EditorAction[] {
    return codeActions(this.index, this.analysis(), this.navigator(), path, range);
  }
}

/** How many related objects a hover lists before it says how many more there are. */
const HOVER_LIST = 12;

function describeColumn(o: SourceObject, column: ColumnDefinition): string {
  const name = o.key.schema ? `${o.key.schema}.${o.key.name}` : o.key.name;
  return [
    `**column** \`${column.name}\` of ${o.key.kind} \`${name}\` (project ${o.project})`,
    `\`${columnDetail(column)}\``,
    `Defined in ${column.location.file}:${column.location.line}`,
  ].join('\n\n');
}

function describe(nav: Navigator, o: SourceObject): string {
  const name = o.key.schema ? `${o.key.schema}.${o.key.name}` : o.key.name;
  const args = o.key.args ? `(${o.key.args.join(', ')})` : '';
  const list = (title: string, objects: SourceObject[]) => {
    if (!objects.length) return `${title}: none`;
    const shown = objects.slice(0, HOVER_LIST).map((x) => `\`${x.id}\``);
    const more = objects.length > HOVER_LIST ? `, and ${objects.length - HOVER_LIST} more` : '';
    return `${title} (${objects.length}): ${shown.join(', ')}${more}`;
  };
  return [
    `**${o.key.kind}** \`${name}${args}\`${o.key.parent ? ` on \`${o.key.parent}\`` : ''} (project ${o.project})`,
    `Defined in ${o.location.file}:${o.location.line}`,
    list('Depends on', nav.dependencies(o)),
    list('Used by', nav.dependents(o)),
  ].join('\n\n');
}
