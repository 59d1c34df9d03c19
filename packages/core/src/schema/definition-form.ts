/**
 * What a definition compared by `DiffOptions.sameDefinition` is: a view's `query`, a whole `statement` (an index, a
 * trigger), a table or domain `constraint` (`CHECK (...)`, `FOREIGN KEY ...`), an `expression` (a default, a
 * generation expression, a policy's `USING`). Two forms compare less than the whole text, for the differ to tell a
 * change the engine makes in place: `index-without-options`, an index's statement with its storage parameters
 * (PostgreSQL's `WITH (...)`) left out; `constraint-without-timing`, a constraint with its deferrability
 * (`DEFERRABLE`, `INITIALLY DEFERRED`) left out.
 */
export type DefinitionForm =
  | 'query'
  | 'statement'
  | 'constraint'
  | 'expression'
  | 'index-without-options'
  | 'constraint-without-timing';

/** Whether two definitions of one form mean the same thing (see `DiffOptions.sameDefinition`). */
export type SameDefinition = (a: string, b: string, form: DefinitionForm) => boolean;
