/**
 * The dbee.yaml of the fleet tests: environment `fleet` (the default) on the server, whose targets each take their URL
 * from an environment variable (`${URL_1}`...), with labels.
 */
export function fleetYaml(targets: { name: string; variable: string; labels?: Record<string, string> }[]): string {
  const line = (t: (typeof targets)[number]) => {
    const labels = t.labels
      ? `, labels: { ${Object.entries(t.labels)
          .map(([k, v]) => `${k}: "${v}"`)
          .join(', ')} }`
      : '';
    return `        - { name: ${t.name}, connection: { url: "\${${t.variable}}" }${labels} }`;
  };
  return `version: 1
defaultEnvironment: fleet
environments:
  fleet:
    engine: postgres
    connection: {}
    fleet:
      targets:
${targets.map(line).join('\n')}
`;
}

/** Project `a`: schema a, table a.t and view a.v over it. */
export const PROJECT_A = {
  'a/db.yaml': 'version: 1\nname: a\nengine: postgres\nschemas: [a]\n',
  'a/t.sql': 'CREATE SCHEMA a;\nCREATE TABLE a.t (id int PRIMARY KEY, name text);\n',
  'a/v.sql': 'CREATE VIEW a.v AS SELECT id, name FROM a.t;\n',
};
