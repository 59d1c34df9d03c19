import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The order test files start in (vitest.config.ts `sequence.sequencer`). Two workers share the files; whatever runs
 * last decides when the run ends. Vitest's own order is "longest first" from its results cache, but a fresh clone
 * (CI) has no cache and falls back to "largest file first", which started the diff property test (the longest file,
 * ~100 s, a small source) last, alone on one worker. Here: the property test and `LONGEST` first, then the database suites
 * (test/**), then the unit tests beside the sources; within each group Vitest's order (cached durations, or size).
 */
/**
 * Files known to run longest whose source is small (their cases are data in other files), which "largest file first"
 * would start late: the verdict matrix (87 runs over one shared workspace, the suite's longest file); the Nx batch's
 * request counts (about 55 s on the 2-core machine, a unit test beside its sources: started last, it ran alone for
 * its last 50 s of a 1,216 s run).
 */
const LONGEST = ['test/verdicts/verdicts.test.ts', 'plugins/nx/src/executors/batch-requests.test.ts'];

export class LongFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const group = (spec: TestSpecification) => {
      const path = relative(spec.project.config.root, spec.moduleId).split('\\').join('/');
      return path.startsWith('test/diff-property/') || LONGEST.includes(path) ? 0 : path.startsWith('test/') ? 1 : 2;
    };
    return [0, 1, 2].flatMap((g) => sorted.filter((spec) => group(spec) === g));
  }
}
