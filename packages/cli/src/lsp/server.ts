import {
  createConnection,
  DidChangeWatchedFilesNotification,
  TextDocuments,
  TextDocumentSyncKind,
  type Connection,
  type InitializeParams,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { fileURLToPath } from 'node:url';
import { DbeeError } from '@dbee/core/errors';
import type { Engine } from '@dbee/core/run';
import { LanguageService, WorkspaceIndex, WORKSPACE_FILE } from '@dbee/core/lsp';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  pathOfUri,
  toCodeAction,
  toCompletionItem,
  toDiagnostic,
  toDocumentSymbol,
  toLocation,
  toSymbolInformation,
  uriOfPath,
} from './protocol';
import { checkEnvironment, runInProcess, type RunCommand } from './environment-check';
import { framedInput } from './framing';

/**
 * Sent after each update, once its diagnostics are published, with the versions of the open documents it applied
 * (`{ versions: { [uri]: version } }`): a client that needs to know its edit was seen waits for it.
 */
export const UPDATED = 'dbee/updated';

/** The command that checks the saved sources against the environment (`executeCommand`; arguments below). */
export const CHECK_ENVIRONMENT = 'dbee.checkEnvironment';

/**
 * Sent when a check against the environment is done and its diagnostics are published:
 * `{ environment, projects, findings, failed: [{ project, error }] }`.
 */
export const CHECKED = 'dbee/checked';

/** How `dbee lsp` starts. */
export interface ServerOptions {
  /** Where the protocol's messages come from and go to (the process's stdin and stdout for `dbee lsp`). */
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** The engine of a db.yaml's `engine:` (the CLI's `engineByName`). */
  engine: (name: string) => Engine;
  /** A folder inside the workspace when neither `workspace` nor the client names one (the current folder). */
  cwd: string;
  /** A folder inside the workspace given on the command line (`--cwd`): it wins over the client's folder. */
  workspace?: string;
  /** The environment whose variables expand placeholders (`--env`); the client may name one too. */
  environment?: string;
  env: NodeJS.ProcessEnv;
  /** How a check against the environment runs `plan` and `status` (default: `runDbeeCommand` in this process). */
  run?: RunCommand;
}

/** What a client may pass as `initializationOptions`. */
interface InitializationOptions {
  /**
   * The environment whose variables expand `{{placeholders}}`, and which `dbee.checkEnvironment` checks (default:
   * DBEE_ENV, else `defaultEnvironment`).
   */
  environment?: string;
  /** Check the project of a saved file against the environment after each save (default: only on the command). */
  checkOnSave?: boolean;
}

/**
 * The language server: the Language Server Protocol over `input`/`output` (`dbee lsp` uses stdio), answered by a
 * `LanguageService` over the workspace the client opens. Documents are synchronised incrementally; files created,
 * changed or deleted on disk come from the client's file watcher (`**\/*.sql`, `**\/db.yaml`, `dbee.yaml`,
 * registered when the client allows it). Each change is applied by one update at a time (changes that arrive meanwhile
 * are applied by the next), then the diagnostics of every file whose diagnostics changed are published. Requests wait
 * for the update under way, so that they answer on what the editor shows.
 *
 * Bad input never ends the server: what a file or a configuration gets wrong is a diagnostic of that file; anything
 * else (a bug) is written to the client's log and the server goes on. Resolves when the client ends the session.
 */
export function startServer(options: ServerOptions): Promise<number> {
  // Bad framing from the client is dropped and logged, never the end of the session (framing.ts).
  const input = framedInput(options.input, (message) => connection.console.error(message));
  const connection = createConnection(input, options.output);
  const documents = new TextDocuments(TextDocument);
  let service: LanguageService | null = null;
  let root = '';
  let watching = false;
  const published = new Map<string, string>();
  let running: Promise<void> = Promise.resolve();
  let queued = false;
  let checkOnSave = false;
  let checking: Promise<unknown> = Promise.resolve();

  const log = (message: string) => connection.console.log(message);
  const fail = (what: string, e: unknown) => {
    const text = e instanceof DbeeError ? e.format() : e instanceof Error ? (e.stack ?? e.message) : String(e);
    connection.console.error(`dbee lsp: ${what}: ${text}`);
  };

  /** Apply what changed and publish the diagnostics that moved; one at a time, the last change always applied. */
  const refresh = (): Promise<void> => {
    if (queued) return running;
    queued = true;
    running = running.then(async () => {
      queued = false;
      if (!service) return;
      // The versions of the open documents this update applies: a client (the tests) can wait for its own edit.
      const versions = Object.fromEntries(documents.all().map((d) => [d.uri, d.version]));
      try {
        await service.index.update();
        publish(connection, service, root, published);
      } catch (e) {
        fail('update', e);
      }
      void connection.sendNotification(UPDATED, { versions });
    });
    return running;
  };

  const answer =
    <P, R>(what: string, empty: R, handle: (s: LanguageService, params: P, path: string | null) => R) =>
    async (params: P): Promise<R> => {
      await running;
      if (!service) return empty;
      const uri = (params as { textDocument?: { uri: string } }).textDocument?.uri;
      const path = uri ? pathOfUri(uri, (a) => service!.index.relativePath(a)) : null;
      try {
        return handle(service, params, path);
      } catch (e) {
        fail(what, e);
        return empty;
      }
    };

  connection.onInitialize((params: InitializeParams): InitializeResult => {
    const init = (params.initializationOptions ?? {}) as InitializationOptions;
    const folder = params.workspaceFolders?.[0]?.uri ?? params.rootUri;
    const start = options.workspace ?? (folder?.startsWith('file:') ? fileURLToPath(folder) : options.cwd);
    const found = findRoot(start);
    watching = params.capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration === true;
    checkOnSave = init.checkOnSave === true;
    if (found) {
      root = found;
      service = new LanguageService(
        new WorkspaceIndex({
          root,
          engine: options.engine,
          environment: init.environment ?? options.environment,
          env: options.env,
        }),
      );
    }
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: { includeText: false } },
        executeCommandProvider: { commands: [CHECK_ENVIRONMENT] },
        definitionProvider: true,
        referencesProvider: true,
        hoverProvider: true,
        documentSymbolProvider: true,
        workspaceSymbolProvider: true,
        completionProvider: { triggerCharacters: ['.'] },
        codeActionProvider: { codeActionKinds: ['quickfix', 'refactor.rewrite'] },
      },
      serverInfo: { name: 'dbee', version: require('../../package.json').version },
    };
  });

  connection.onInitialized(() => {
    if (!service) {
      connection.window.showWarningMessage(
        `dbee: no ${WORKSPACE_FILE} in ${options.workspace ?? options.cwd} or a parent folder; the language server has no workspace to read`,
      );
      return;
    }
    log(`dbee lsp: workspace ${root}, environment ${service.index.options.environment ?? '(default)'}`);
    if (watching)
      void connection.client.register(DidChangeWatchedFilesNotification.type, {
        watchers: [{ globPattern: '**/*.sql' }, { globPattern: '**/db.yaml' }, { globPattern: '**/dbee.yaml' }],
      });
    void refresh();
  });

  documents.onDidChangeContent((change) => {
    const path = service && pathOfUri(change.document.uri, (a) => service!.index.relativePath(a));
    if (!service || !path) return;
    service.index.setDocument(path, change.document.getText());
    void refresh();
  });
  documents.onDidClose((event) => {
    const path = service && pathOfUri(event.document.uri, (a) => service!.index.relativePath(a));
    if (!service || !path) return;
    service.index.closeDocument(path);
    void refresh();
  });
  connection.onDidChangeWatchedFiles((params) => {
    if (!service) return;
    const paths = params.changes.flatMap((c) => pathOfUri(c.uri, (a) => service!.index.relativePath(a)) ?? []);
    service.index.filesChanged(paths);
    void refresh();
  });

  /**
   * Check `projects` (default: those of the open documents, else every project) against the environment, one check
   * at a time; then publish its diagnostics and say so (`CHECKED`).
   */
  const check = (projects?: string[]): Promise<unknown> => {
    checking = checking.then(async () => {
      await running;
      if (!service) return;
      const s = service;
      const names = projects?.length
        ? projects
        : projectsOf(
            s,
            documents.all().map((d) => d.uri),
          );
      try {
        const run = options.run ?? runInProcess(root, options.env);
        const state = await checkEnvironment(run, names, s.index.options.environment ?? null, s.analysis().objects);
        s.setEnvironment(state);
        publish(connection, s, root, published);
        const failed = [...state.projects].flatMap(([project, p]) => (p.error ? [{ project, error: p.error }] : []));
        for (const f of failed)
          log(`dbee lsp: ${f.project} could not be checked against ${state.environment}: ${f.error}`);
        void connection.sendNotification(CHECKED, {
          environment: state.environment,
          projects: names,
          findings: state.findings.length,
          failed,
        });
      } catch (e) {
        fail('check against the environment', e);
      }
    });
    return checking;
  };
  connection.onExecuteCommand(async (params) => {
    if (params.command !== CHECK_ENVIRONMENT) return null;
    const given = (params.arguments?.[0] ?? {}) as { projects?: string[] };
    await check(given.projects);
    return null;
  });
  documents.onDidSave((event) => {
    if (!checkOnSave || !service) return;
    void check(projectsOf(service, [event.document.uri]));
  });

  connection.onDefinition(
    answer('definition', [], (s, p: { position: { line: number; character: number } }, path) =>
      path ? s.definition(path, p.position).map((l) => toLocation(root, l)) : [],
    ),
  );
  connection.onReferences(
    answer(
      'references',
      [],
      (s, p: { position: { line: number; character: number }; context: { includeDeclaration: boolean } }, path) =>
        path ? s.references(path, p.position, p.context.includeDeclaration).map((l) => toLocation(root, l)) : [],
    ),
  );
  connection.onHover(
    answer('hover', null, (s, p: { position: { line: number; character: number } }, path) => {
      const hover = path ? s.hover(path, p.position) : null;
      return hover ? { contents: { kind: 'markdown' as const, value: hover.markdown }, range: hover.range } : null;
    }),
  );
  connection.onDocumentSymbol(
    answer('document symbols', [], (s, _p, path) => (path ? s.documentSymbols(path).map(toDocumentSymbol) : [])),
  );
  connection.onWorkspaceSymbol(
    answer('workspace symbols', [], (s, p: { query: string }) =>
      s.workspaceSymbols(p.query).map((x) => toSymbolInformation(root, x)),
    ),
  );
  connection.onCompletion(
    answer('completion', [], (s, p: { position: { line: number; character: number } }, path) =>
      path ? s.completions(path, p.position).map(toCompletionItem) : [],
    ),
  );
  connection.onCodeAction(
    answer(
      'code actions',
      [],
      (
        s,
        p: { range: { start: { line: number; character: number }; end: { line: number; character: number } } },
        path,
      ) => (path ? s.codeActions(path, p.range).map((a) => toCodeAction(root, a)) : []),
    ),
  );

  return new Promise((resolveExit) => {
    let shutdown = false;
    connection.onShutdown(() => {
      shutdown = true;
    });
    connection.onExit(() => resolveExit(shutdown ? 0 : 1));
    documents.listen(connection);
    connection.listen();
  });
}

/** The projects that hold the files of `uris` (every project when none does). */
function projectsOf(service: LanguageService, uris: string[]): string[] {
  const all = service.index.projects().flatMap((p) => (p.project ? [p.project.name] : []));
  const found = new Set<string>();
  for (const uri of uris) {
    const path = pathOfUri(uri, (a) => service.index.relativePath(a));
    const name = path ? service.index.projectOfPath(path)?.project?.name : undefined;
    if (name) found.add(name);
  }
  return found.size ? [...found] : all;
}

/** The nearest folder at or above `from` that holds dbee.yaml, or null. */
function findRoot(from: string): string | null {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, WORKSPACE_FILE))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** Send the diagnostics of every file whose diagnostics changed since they were last sent (an empty list clears). */
function publish(connection: Connection, service: LanguageService, root: string, published: Map<string, string>): void {
  const now = service.diagnostics();
  for (const file of new Set([...published.keys(), ...now.keys()])) {
    const diagnostics = (now.get(file) ?? []).map((d) => toDiagnostic(root, d));
    const text = JSON.stringify(diagnostics);
    if (published.get(file) === text) continue;
    if (diagnostics.length) published.set(file, text);
    else published.delete(file);
    void connection.sendDiagnostics({ uri: uriOfPath(root, file), diagnostics });
  }
}
