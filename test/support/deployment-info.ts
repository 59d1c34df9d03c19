import type { DeploymentInfo } from '@dbee/core';

/** A deployment row's identity for the ledger suites: a deploy of `project` on environment `e`, no steps. */
export function deploymentInfo(project = 'p'): DeploymentInfo {
  return {
    project,
    environment: 'e',
    kind: 'deploy',
    planChecksum: 'x',
    package: null,
    gitCommit: null,
    toolVersion: '0',
    osUser: 'tester',
    ciJob: null,
    host: 'test-host',
    stepsTotal: 0,
  };
}
