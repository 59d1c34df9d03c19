import type { DbProject, Workspace } from '../config/workspace';
import type { YamlFile } from '../config/yaml-file';

// Which `policies:` mappings apply, apart from the rules' catalogue (settings.ts): a deployment of a workspace that
// configures no policy does not load the catalogue's ~60 rule modules (operations/policy-judgment.ts).

/** A `policies:` mapping in a file, with the path to it for locations. */
export interface PoliciesBlock {
  file: YamlFile;
  path: (string | number)[];
  value: Record<string, unknown>;
}

/** The `policies:` mappings that apply, most general first. */
export function policyBlocks(workspace: Workspace, project: DbProject, environment: string): PoliciesBlock[] {
  const candidates: Array<{ file: YamlFile; path: (string | number)[]; value: unknown }> = [
    { file: workspace.file, path: ['policies'], value: workspace.config.policies },
    {
      file: workspace.file,
      path: ['environments', environment, 'policies'],
      value: workspace.config.environments[environment]?.policies,
    },
    { file: project.file, path: ['policies'], value: project.config.policies },
    {
      file: project.file,
      path: ['environments', environment, 'policies'],
      value: project.config.environments?.[environment]?.policies,
    },
  ];
  return candidates
    .filter((c) => c.value !== undefined && c.value !== null)
    .map((c) => ({ ...c, value: c.value as Record<string, unknown> }));
}

/** True when `policies:` appears in dbee.yaml or the project's db.yaml (for the environment or not). */
export function policiesConfigured(workspace: Workspace, project: DbProject, environment: string): boolean {
  return policyBlocks(workspace, project, environment).length > 0;
}
