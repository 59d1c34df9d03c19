import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import type { Diagnostic, InitializeResult } from 'vscode-languageserver-protocol';

const REPO = join(__dirname, '..', '..');
const DBEE = join(REPO, 'packages', 'cli', 'bin', 'dbee.js');

/** The example workspace (README's quick start: dbee.yaml with examples/core and examples/sales) copied to a folder. */
export function copyExamples(): string {
  const root = mkdtempSync(join(tmpdir(), 'dbee-lsp-'));
  writeFileSync(join(root, 'dbee.yaml'), readFileSync(join(REPO, 'dbee.yaml'), 'utf8'));
  for (const project of ['core', 'sales'])
    cpSync(join(REPO, 'examples', project), join(root, 'examples', project), { recursive: true });
  return root;
}

/** A diagnostic as the tests compare them: where, how bad, which code, what it says (first line). */
export interface Seen {
  file: string;
  range: [number, number, number, number];
  severity: number | undefined;
  code: string | number | undefined;
  message: string;
}

/**
 * A real client of `dbee lsp`: the command started as users start it (`node packages/cli/bin/dbee.js lsp`, the
 * compiled dist/ in the tests), spoken to over its stdin and stdout with vscode-jsonrpc's protocol connection. It
 * keeps the last diagnostics published for each file, and waits for the server's `dbee/updated` notification that
 * covers an edit before a test reads them.
 */
export class LspClient {
  readonly diagnostics = new Map<string, Diagnostic[]>();
  readonly log: string[] = [];
  private readonly versions = new Map<string, number>();
  private readonly waiting: Array<{ done: (v: Record<string, number>) => boolean; resolve: () => void }> = [];
  initialize!: InitializeResult;

  private constructor(
    readonly root: string,
    readonly child: ChildProcess,
    readonly connection: ProtocolConnection,
  ) {}

  /** Start `dbee lsp` for the workspace at `root` and finish the handshake; resolves once the first update is done. */
  static async start(
    root: string,
    options: { env?: NodeJS.ProcessEnv; args?: string[]; initializationOptions?: unknown; watch?: boolean } = {},
  ): Promise<LspClient> {
    const child = spawn(process.execPath, [DBEE, 'lsp', ...(options.args ?? [])], {
      cwd: root,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const connection = createProtocolConnection(
      new StreamMessageReader(child.stdout!),
      new StreamMessageWriter(child.stdin!),
    );
    const client = new LspClient(root, child, connection);
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += String(d)));
    child.on('exit', (code) => {
      if (code !== 0 && code !== null) client.log.push(`exit ${code}: ${stderr}`);
    });
    connection.onNotification('textDocument/publishDiagnostics', (p: { uri: string; diagnostics: Diagnostic[] }) =>
      client.diagnostics.set(p.uri, p.diagnostics),
    );
    connection.onNotification('window/logMessage', (p: { message: string }) => client.log.push(p.message));
    connection.onNotification('window/showMessage', (p: { message: string }) => client.log.push(p.message));
    connection.onNotification('dbee/updated', (p: { versions: Record<string, number> }) => {
      for (const w of [...client.waiting])
        if (w.done(p.versions)) {
          client.waiting.splice(client.waiting.indexOf(w), 1);
          w.resolve();
        }
    });
    connection.onRequest('client/registerCapability', () => null);
    connection.onRequest('workspace/configuration', () => []);
    connection.listen();
    const first = client.nextUpdate();
    client.initialize = await connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(root).href,
      workspaceFolders: [{ uri: pathToFileURL(root).href, name: 'workspace' }],
      capabilities: {
        workspace: { didChangeWatchedFiles: { dynamicRegistration: options.watch ?? true } },
        textDocument: { publishDiagnostics: { relatedInformation: true } },
      },
      initializationOptions: options.initializationOptions,
    });
    await connection.sendNotification('initialized', {});
    await first;
    return client;
  }

  uri(file: string): string {
    return pathToFileURL(join(this.root, file)).href;
  }

  /** The next update's end (whatever it applied). */
  nextUpdate(): Promise<void> {
    return new Promise((resolve) => this.waiting.push({ done: () => true, resolve }));
  }

  /** The end of the first update that applied the version of `file` sent last. */
  private applied(file: string): Promise<void> {
    const uri = this.uri(file);
    const version = this.versions.get(uri)!;
    return new Promise((resolve) => this.waiting.push({ done: (v) => (v[uri] ?? -1) >= version, resolve }));
  }

  /** Open `file` with `text` (default: its text on disk); resolves once the server has applied it. */
  async open(file: string, text = readFileSync(join(this.root, file), 'utf8')): Promise<void> {
    this.versions.set(this.uri(file), 1);
    const applied = this.applied(file);
    await this.connection.sendNotification('textDocument/didOpen', {
      textDocument: { uri: this.uri(file), languageId: 'sql', version: 1, text },
    });
    await applied;
  }

  /** Replace the whole text of an open `file` (as an editor's edit); resolves once the server has applied it. */
  async change(file: string, text: string): Promise<void> {
    const version = (this.versions.get(this.uri(file)) ?? 0) + 1;
    this.versions.set(this.uri(file), version);
    const applied = this.applied(file);
    await this.connection.sendNotification('textDocument/didChange', {
      textDocument: { uri: this.uri(file), version },
      contentChanges: [{ text }],
    });
    await applied;
  }

  /** Apply one edit of a range to an open `file` (incremental synchronisation). */
  async edit(
    file: string,
    range: { start: { line: number; character: number }; end: { line: number; character: number } },
    text: string,
  ): Promise<void> {
    const version = (this.versions.get(this.uri(file)) ?? 0) + 1;
    this.versions.set(this.uri(file), version);
    const applied = this.applied(file);
    await this.connection.sendNotification('textDocument/didChange', {
      textDocument: { uri: this.uri(file), version },
      contentChanges: [{ range, text }],
    });
    await applied;
  }

  /** Write `file` on disk and report it as the editor's file watcher would; resolves after the next update. */
  async writeOnDisk(file: string, text: string | null, type: 1 | 2 | 3): Promise<void> {
    if (text === null) rmSync(join(this.root, file), { force: true });
    else writeFileSync(join(this.root, file), text);
    const next = this.nextUpdate();
    await this.connection.sendNotification('workspace/didChangeWatchedFiles', {
      changes: [{ uri: this.uri(file), type }],
    });
    await next;
  }

  /** Every diagnostic published and not cleared, by file, each reduced to what the tests compare. */
  seen(): Seen[] {
    const out: Seen[] = [];
    for (const [uri, list] of this.diagnostics)
      for (const d of list)
        out.push({
          file: uri.slice(pathToFileURL(this.root).href.length + 1),
          range: [d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character],
          severity: d.severity,
          code: d.code,
          message: d.message.split('\n')[0]!,
        });
    return out.sort((a, b) => a.file.localeCompare(b.file) || a.range[0] - b.range[0] || a.range[1] - b.range[1]);
  }

  request<R>(method: string, params: unknown): Promise<R> {
    return this.connection.sendRequest(method, params) as Promise<R>;
  }

  /** Shut the server down as an editor does (shutdown, exit); resolves with its exit code. */
  async stop(): Promise<number | null> {
    const exited = new Promise<number | null>((resolve) => {
      if (this.child.exitCode !== null) resolve(this.child.exitCode);
      else this.child.once('exit', (code) => resolve(code));
    });
    try {
      await this.connection.sendRequest('shutdown');
      await this.connection.sendNotification('exit');
    } catch {
      this.child.kill();
    }
    const code = await exited;
    this.connection.dispose();
    return code;
  }
}
