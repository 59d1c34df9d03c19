import type { GeneratorCallback, Tree } from '@nx/devkit';
import { PROJECT_FILE } from '@dbee/core';
import { GeneratorError, listOption, projectPrefix, treeProjects } from '../workspace-projects';
import type { ProjectGeneratorSchema } from './schema';

const NAME = /^[A-Za-z_][A-Za-z0-9_$-]*$/;
const SCHEMA = /^[a-z_][a-z0-9_$]*$/;

/**
 * `nx g @dbee/nx:project <name>`: a database project folder with db.yaml, one `CREATE SCHEMA` file per owned schema
 * (schema/<schema>/schema.sql, the layout of the README's examples) and a smoke check that the schemas exist.
 * Refuses a name that is taken, a folder that already holds a project, and a dependency that does not exist.
 */
export async function projectGenerator(tree: Tree, options: ProjectGeneratorSchema): Promise<GeneratorCallback> {
  const name = (options.name ?? '').trim();
  if (!NAME.test(name)) {
    throw new GeneratorError(
      `project name "${name}" is not valid: use letters, digits, "_", "-" or "$", starting with a letter or "_"`,
    );
  }
  const schemas = listOption(options.schemas);
  if (schemas.length === 0) schemas.push(name.toLowerCase().replace(/[-$]/g, '_'));
  const badSchema = schemas.find((s) => !SCHEMA.test(s));
  if (badSchema) {
    throw new GeneratorError(
      `schema name "${badSchema}" is not valid: use lower-case letters, digits and "_" (--schemas=sales,sales_audit)`,
    );
  }
  const dependsOn = listOption(options.dependsOn);
  const directory = normalizeDirectory(options.directory ?? `databases/${name}`);

  const existing = treeProjects(tree);
  const taken = existing.find((p) => p.name === name);
  if (taken)
    throw new GeneratorError(
      `a database project named "${name}" already exists in ${taken.root}/${PROJECT_FILE}: choose another name`,
    );
  if (tree.exists(`${directory}/${PROJECT_FILE}`)) {
    throw new GeneratorError(`${directory}/${PROJECT_FILE} already exists: choose another --directory`);
  }
  const known = new Set(existing.map((p) => p.name));
  const prefix = projectPrefix(tree);
  const missing = dependsOn.map((d) =>
    known.has(d) ? d : d.startsWith(prefix) && known.has(d.slice(prefix.length)) ? d.slice(prefix.length) : undefined,
  );
  const unknown = dependsOn.filter((_, i) => missing[i] === undefined);
  if (unknown.length > 0) {
    const list = [...known].sort().join(', ') || 'none yet';
    throw new GeneratorError(
      `--depends-on names no database project ${unknown.map((u) => `"${u}"`).join(', ')} (projects: ${list}): create it first with nx g @dbee/nx:project`,
    );
  }

  tree.write(`${directory}/${PROJECT_FILE}`, projectConfig(name, schemas, missing as string[]));
  for (const schema of schemas) tree.write(`${directory}/schema/${schema}/schema.sql`, schemaFile(schema));
  tree.write(`${directory}/smoke/${name}.yaml`, smokeChecks(schemas));
  return () => {};
}

/**
 * A schema's file. Every PostgreSQL database has `public` already, and a plain `CREATE SCHEMA public` is refused by the
 * planner (its hint says so): its file creates it only where it is missing, and says why.
 */
function schemaFile(schema: string): string {
  if (schema !== 'public') return `CREATE SCHEMA ${schema};\n`;
  return [
    '-- Every PostgreSQL database has schema public: dbee takes it as the database has it. Its GRANT, REVOKE and',
    '-- COMMENT statements may go here.',
    'CREATE SCHEMA IF NOT EXISTS public;',
    '',
  ].join('\n');
}

function projectConfig(name: string, schemas: string[], dependsOn: string[]): string {
  const lines = [
    `# Database project "${name}". Objects: one file per object under schema/<schema>/ (tables, views, functions...).`,
    '# Migrations (run once, with a rollback script): nx g @dbee/nx:migration ' + name + ' "what it does".',
    'version: 1',
    `name: ${name}`,
    'engine: postgres',
    `schemas: [${schemas.join(', ')}]`,
  ];
  if (dependsOn.length > 0) {
    lines.push(`dependsOn: [${dependsOn.join(', ')}]`);
    lines.push('# Unqualified names are looked up in these schemas, in order.');
    lines.push(`searchPath: [${[...new Set([...schemas, 'public'])].join(', ')}]`);
  }
  return `${lines.join('\n')}\n`;
}

function smokeChecks(schemas: string[]): string {
  const list = schemas.map((s) => `'${s}'`).join(', ');
  return [
    '# Smoke checks, run by `nx run <project>:smoke-test` and after each deployment; see the README, "Smoke checks".',
    'checks:',
    `  - name: the project's schemas exist`,
    `    query: SELECT count(*)::int AS schemas FROM pg_namespace WHERE nspname IN (${list})`,
    `    rows: [{ schemas: ${schemas.length} }]`,
    '',
  ].join('\n');
}

function normalizeDirectory(directory: string): string {
  const d = directory
    .replace(/\\/g, '/')
    .replace(/^\.\/+/, '')
    .replace(/\/+$/, '');
  if (d === '' || d.startsWith('/') || d.split('/').includes('..')) {
    throw new GeneratorError(`--directory "${directory}" must be a folder inside the workspace, e.g. databases/sales`);
  }
  return d;
}

export default projectGenerator;
