import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import {
  CodeActionKind,
  CompletionItemKind,
  DiagnosticSeverity,
  SymbolKind,
  type CodeAction,
  type CompletionItem,
  type Diagnostic,
  type DocumentSymbol,
  type Location,
  type SymbolInformation,
  type WorkspaceEdit,
} from 'vscode-languageserver/node';
import type { EditorAction, EditorCompletion, EditorDiagnostic, EditorLocation, EditorSymbol } from '@dbee/core/lsp';

/** The language server's answers in the protocol's types: files as `file:` URIs, severities and kinds as numbers. */

/** A `file:` URI as a workspace-relative path, or null for another scheme or a file outside the workspace. */
export function pathOfUri(uri: string, relative: (absolute: string) => string | null): string | null {
  if (!uri.startsWith('file:')) return null;
  return relative(fileURLToPath(uri));
}

/** A workspace-relative path as a `file:` URI. */
export function uriOfPath(root: string, path: string): string {
  return pathToFileURL(join(root, path)).href;
}

const SEVERITY: Record<EditorDiagnostic['severity'], DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

export function toDiagnostic(root: string, d: EditorDiagnostic): Diagnostic {
  return {
    range: d.range,
    severity: SEVERITY[d.severity],
    code: d.code,
    source: 'dbee',
    message: d.hint ? `${d.message}\nhint: ${d.hint}` : d.message,
    ...(d.related
      ? {
          relatedInformation: d.related.map((r) => ({
            location: { uri: uriOfPath(root, r.file), range: r.range },
            message: r.message,
          })),
        }
      : {}),
    ...(d.fix ? { data: d.fix } : {}),
  };
}

export function toLocation(root: string, l: EditorLocation): Location {
  return { uri: uriOfPath(root, l.file), range: l.range };
}

/** The protocol's symbol kind nearest to each kind of object. */
function symbolKind(kind: EditorSymbol['kind']): SymbolKind {
  switch (kind) {
    case 'schema':
    case 'database':
      return SymbolKind.Namespace;
    case 'table':
    case 'view':
    case 'materialized-view':
    case 'join-index':
      return SymbolKind.Struct;
    case 'function':
    case 'aggregate':
    case 'procedure':
    case 'macro':
      return SymbolKind.Function;
    case 'type':
    case 'domain':
      return SymbolKind.TypeParameter;
    case 'sequence':
      return SymbolKind.Number;
    case 'trigger':
      return SymbolKind.Event;
    case 'index':
    case 'hash-index':
      return SymbolKind.Key;
    case 'extension':
      return SymbolKind.Package;
    default:
      return SymbolKind.Object;
  }
}

export function toDocumentSymbol(s: EditorSymbol): DocumentSymbol {
  return {
    name: s.name,
    detail: s.kind,
    kind: symbolKind(s.kind),
    range: s.location.range,
    selectionRange: s.selection,
  };
}

export function toSymbolInformation(root: string, s: EditorSymbol): SymbolInformation {
  return {
    name: s.name,
    kind: symbolKind(s.kind),
    containerName: `${s.kind} (project ${s.project})`,
    location: { uri: uriOfPath(root, s.location.file), range: s.selection },
  };
}

export function toCompletionItem(c: EditorCompletion): CompletionItem {
  const kind =
    c.kind === 'column'
      ? CompletionItemKind.Field
      : c.kind === 'schema'
        ? CompletionItemKind.Module
        : c.kind === 'function' || c.kind === 'procedure' || c.kind === 'aggregate' || c.kind === 'macro'
          ? CompletionItemKind.Function
          : c.kind === 'type' || c.kind === 'domain'
            ? CompletionItemKind.TypeParameter
            : CompletionItemKind.Struct;
  return { label: c.label, kind, detail: c.detail, ...(c.sortText ? { sortText: c.sortText } : {}) };
}

export function toCodeAction(root: string, a: EditorAction): CodeAction {
  const edit: WorkspaceEdit = {
    documentChanges: [
      ...(a.create ?? []).flatMap((c) => {
        const uri = uriOfPath(root, c.file);
        return [
          { kind: 'create' as const, uri, options: { ignoreIfExists: true } },
          { textDocument: { uri, version: null }, edits: [{ range: zero, newText: c.text }] },
        ];
      }),
      ...(a.edits ?? []).map((e) => ({
        textDocument: { uri: uriOfPath(root, e.file), version: null },
        edits: [{ range: e.edit.range, newText: e.edit.newText }],
      })),
    ],
  };
  return {
    title: a.title,
    kind: a.kind === 'quickfix' ? CodeActionKind.QuickFix : CodeActionKind.RefactorRewrite,
    ...(a.diagnostic ? { diagnostics: [toDiagnostic(root, a.diagnostic)], isPreferred: true } : {}),
    edit,
  };
}

const zero = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
