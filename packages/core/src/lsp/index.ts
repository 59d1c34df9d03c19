// What dbee's language server knows (`@dbee/core/lsp`), without the protocol: the workspace index, its diagnostics,
// navigation, completion and code actions. The protocol itself is `dbee lsp` (packages/cli/src/lsp/).
export { WorkspaceIndex } from './workspace-index';
export type { WorkspaceIndexOptions, IndexedProject, IndexedSource, SourceRole } from './workspace-index';
export { LanguageService } from './language-service';
export type { EditorHover } from './language-service';
export type { EditorDiagnostic, EditorFix, DiagnosticSeverity } from './editor-diagnostic';
export { objectAt } from './environment-state';
export type { EnvironmentState, EnvironmentFinding, DeployedProject } from './environment-state';
export type { EditorLocation, EditorSymbol } from './navigation';
export type { EditorCompletion } from './completion';
export type { EditorAction } from './code-actions';
export type { TextEdit } from './yaml-edit';
export type { TextPosition, TextRange } from './text';
export { PROJECT_FILE, WORKSPACE_FILE } from '../config/workspace';
