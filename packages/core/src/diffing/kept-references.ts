import { join } from 'node:path';
import { KeptPack } from '../planner/kept-pack';
import type { BodyReference, KeptReferences } from '../schema/body-dependencies';
import { sha256 } from '../sources/checksum';

/**
 * The references of the routines' definitions a target's desired model read back from its shadow
 * (`withBodyDependencies`), kept between runs beside the parse cache (`.dbee/cache/parse`), one file per target
 * project and parser (engine, dbee's version), as the parse cache keeps its parses: the next uncached build of the
 * model (a diff after an edit, `--no-cache`) reads back the same definitions for every routine the edit did not touch,
 * and their parse was most of its JavaScript after the read-back. An entry is keyed by a digest of the definition and
 * the search path (what the references are a function of, with the parser); only definitions the parser read are kept.
 * It holds the definitions of the last build only (a `KeptPack`).
 */
export function keptReferences(
  workspaceRoot: string,
  parser: string,
  target: string,
): KeptReferences & { save(): void } {
  const name = digest(`dbee-body-references-v1\0${parser}\0${target}`);
  const pack = KeptPack.open<BodyReference[]>(join(workspaceRoot, '.dbee', 'cache', 'parse', `bodies-${name}.json`));
  return {
    get: (key) => pack.get(digest(key)),
    put: (key, references) => pack.put(digest(key), references),
    save: () => pack.save(),
  };
}

const digest = (text: string) => sha256(text).slice(0, 40);
