/**
 * The smoke outcome a deployment records, one rule for every strategy (a direct deployment, the expand phase and the
 * closing phases of an expand-contract release): `n/m passed` over every check that ran, the baseline's (the recorded
 * objects exist, the views compile) included; `no checks` when there was nothing to check (a project with no object
 * recorded and no smoke file); `not run` is written by the caller when the checks could not run at all.
 */
export function smokeSummary(results: readonly { status: string }[]): string {
  if (!results.length) return NO_CHECKS;
  const failed = results.filter((r) => r.status !== 'passed').length;
  return `${results.length - failed}/${results.length} passed`;
}

/** The outcome of a deployment with nothing to check: promotable, as every check passed. */
export const NO_CHECKS = 'no checks';

/**
 * What `gates.promotedFrom` reads in a recorded smoke outcome (`smokeSummary`), one rule for both strategies: every
 * check passed (or there was none to run): `passed`; some failed: `failed`; they did not run: `not run`.
 */
export function smokeEvidence(smoke: string): 'passed' | 'failed' | 'not run' {
  if (smoke === NO_CHECKS) return 'passed';
  const m = /^(\d+)\/(\d+) passed$/.exec(smoke);
  if (!m || m[2] === '0') return 'not run';
  return m[1] === m[2] ? 'passed' : 'failed';
}
