/** dbee.yaml of the expand tests that need only an embedded database on disk (a second connection can read it). */
export const EMBEDDED_LOCAL_YAML = `version: 1
defaultEnvironment: local
environments:
  local:
    engine: postgres
    connection: { embedded: .dbee/local }
`;

/** dbee.yaml of the expand tests on the server only: the environment `server`, its URL in `EXPAND_TEST_URL`. */
export const SERVER_YAML = `version: 1
defaultEnvironment: server
environments:
  server:
    engine: postgres
    connection: { url: "\${EXPAND_TEST_URL}" }
`;
