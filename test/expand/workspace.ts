/** dbee.yaml of the expand tests that need only an embedded database on disk (a second connection can read it). */
export const EMBEDDED_LOCAL_YAML = `version: 1
defaultEnvironment: local
environments:
  local:
    engine: postgres
    connection: { embedded: .dbee/local }
`;
