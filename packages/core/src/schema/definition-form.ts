/**
 * What a definition compared by `DiffOptions.sameDefinition` is: a view's `query`, a whole `statement` (an index, a
 * trigger), a table or domain `constraint` (`CHECK (...)`, `FOREIGN KEY ...`), an `expression` (a default, a
 * generation expression, a policy's `USING`).
 */
export type DefinitionForm = 'query' | 'statement' | 'constraint' | 'expression';

/** Whether two definitions of one form mean the same thing (see `DiffOptions.sameDefinition`). */
export type SameDefinition = (a: string, b: string, form: DefinitionForm) => boolean;
