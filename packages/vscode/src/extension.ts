import { dirname } from 'node:path';
import * as vscode from 'vscode';
import { LanguageClient, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { serverCommand } from './server-command';

let client: LanguageClient | undefined;

/**
 * The extension: a thin client of `dbee lsp`. In a workspace with a dbee.yaml it starts the workspace's dbee
 * (`serverCommand`) over stdio for SQL files and the YAML configuration; everything else (diagnostics, go to
 * definition, references, hover, symbols, completion, quick fixes, watching files, the command that checks the saved
 * sources against the environment, which the client registers from the server's `executeCommandProvider`) is the
 * server's.
 */
export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const [config] = await vscode.workspace.findFiles('**/dbee.yaml', '**/node_modules/**', 1);
  if (!config) return;
  const root = dirname(config.fsPath);
  const settings = vscode.workspace.getConfiguration('dbee');
  const { command, args } = serverCommand(root, settings.get<string[]>('command') ?? []);
  const serverOptions: ServerOptions = { command, args, options: { cwd: root } };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'sql' },
      { scheme: 'file', pattern: '**/{db,dbee}.yaml' },
    ],
    initializationOptions: {
      environment: settings.get<string>('environment') || undefined,
      checkOnSave: settings.get<boolean>('checkOnSave') ?? false,
    },
  };
  client = new LanguageClient('dbee', 'dbee', serverOptions, clientOptions);
  context.subscriptions.push({ dispose: () => void client?.stop() });
  await client.start();
}

export function deactivate(): Promise<void> | undefined {
  return client?.stop();
}
