import type { SourceLocation } from '@dbee/core';
import type { Frame } from './frame';
import type { KeyMaker } from './object-keys';
import type { SourceText } from './source-text';

/** One statement of a file, as the analysis of its parse tree sees it. */
export interface StatementContext {
  file: string;
  /** The whole file. */
  source: SourceText;
  /** String index in the file where the statement's text (`sql`) starts. */
  start: number;
  /** The statement text, trimmed, without its `;`. */
  sql: string;
  /** Location of the statement's first token. */
  location: SourceLocation;
  keys: KeyMaker;
  /** Maps the node positions of the file's parse tree (UTF-8 byte offsets in the file). */
  frame: Frame;
}
