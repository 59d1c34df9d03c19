/**
 * A glob over `kind:schema.name` as an anchored regular expression: `table:audit.*_bak_*`, `function:ext_*` (any
 * schema), `audit.tmp_*` (any kind). `*` matches any run of characters, `?` one. The one grammar of `ignore:` in
 * db.yaml, `extract --objects` and the selection of `deploy`/`plan --objects`.
 */
export function objectGlobPattern(glob: string): string {
  const colon = glob.indexOf(':');
  const kind = colon >= 0 ? glob.slice(0, colon) : null;
  const rest = colon >= 0 ? glob.slice(colon + 1) : glob;
  const dot = rest.indexOf('.');
  const schema = dot >= 0 ? rest.slice(0, dot) : null;
  const name = dot >= 0 ? rest.slice(dot + 1) : rest;
  const part = (g: string) =>
    g
      .replace(/[\\^$.|+()[\]{}]/g, (c) => '\\' + c)
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
  return `^${kind === null ? '[a-z-]+' : part(kind)}:${schema === null ? '[^.]*' : part(schema)}\\.${part(name)}$`;
}

/** The text a glob of {@link objectGlobPattern} is matched against: `kind:schema.name` (no arguments, no parent). */
export function globSubject(key: { kind: string; schema: string; name: string }): string {
  return `${key.kind}:${key.schema}.${key.name}`;
}
