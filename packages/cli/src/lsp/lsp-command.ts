import { parseArgs } from 'node:util';
import { engineByName } from '../engines';
import { startServer } from './server';
import { LSP_SUMMARY } from './summary';

/** `dbee lsp --help`. */
export function lspHelp(): string {
  return `dbee lsp [options]

${LSP_SUMMARY}: diagnostics as you type, go to definition, references, hover, symbols, completion and quick fixes
across every database project of the workspace. An editor starts it; see docs/editor.md.

options:
  -e, --env <name>   read {{placeholders}} with this environment's variables (default: DBEE_ENV, else
                     dbee.yaml's defaultEnvironment); an editor may also pass initializationOptions.environment
  --stdio            talk over standard input and output (the only transport; accepted for clients that pass it)
  -h, --help         show this help
  --cwd <dir>        the workspace (a folder in it), over the folder the editor names (default: the
                     editor's folder, else the current folder)
`;
}

/**
 * `dbee lsp`: serves one editor session over stdin/stdout until the editor ends it. Standard output carries the
 * protocol only: nothing else may be written there, so messages go to the client's log.
 */
export async function lspMain(args: string[]): Promise<number> {
  let values: { env?: string; cwd?: string; help?: boolean; stdio?: boolean };
  try {
    values = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        env: { type: 'string', short: 'e' },
        cwd: { type: 'string' },
        stdio: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n  hint: see dbee lsp --help\n`);
    return 1;
  }
  if (values.help) {
    process.stdout.write(lspHelp());
    return 0;
  }
  return startServer({
    input: process.stdin,
    output: process.stdout,
    engine: engineByName,
    cwd: process.cwd(),
    workspace: values.cwd,
    environment: values.env,
    env: process.env,
  });
}
