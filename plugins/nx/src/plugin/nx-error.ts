import { DbeeError, isDbeeError } from '@dbee/core';

/**
 * The error to hand to Nx for a user error found while building the project graph.
 *
 * Nx prints only the `message` of a plugin's errors (the stack only with `--verbose`), and errors cross the
 * plugin-worker boundary as plain `message`/`stack`/`name`. A `DbeeError` keeps its location and hint in fields
 * that `format()` assembles, so the message Nx sees is the formatted text (`file:line:column: key: expected ...`
 * and the hint), and the stack is that same text: a user error needs no stack trace.
 */
export function toNxError(error: unknown): Error {
  if (!isDbeeError(error)) return error instanceof Error ? error : new Error(String(error));
  const text = error.format();
  const out = DbeeError.carrying(error.code, text, { exitCode: error.exitCode, details: error.details });
  out.stack = text;
  return out;
}
