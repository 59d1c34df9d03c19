/** `dbee lsp`'s line in `dbee --help` (a module of its own: `--help` loads neither the server nor its protocol). */
export const LSP_SUMMARY = 'Run the language server for editors (Language Server Protocol over stdio)';
