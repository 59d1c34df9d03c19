import type { Reporter, TestCase, TestModule } from 'vitest/node';

/**
 * `npm run test:faults`: one line per fault case, `held` or `FAILED` (with the first line of why), then the
 * totals. The cases assert the catalog against an independent snapshot and the ledger's invariants.
 */
export default class HeldReporter implements Reporter {
  private held = 0;
  private failed = 0;

  onTestCaseResult(testCase: TestCase): void {
    const result = testCase.result();
    const name = testCase.fullName;
    if (result.state === 'passed') {
      this.held++;
      process.stdout.write(`held    ${name}\n`);
    } else if (result.state === 'failed') {
      this.failed++;
      const why = result.errors?.[0]?.message?.split('\n')[0] ?? '';
      process.stdout.write(`FAILED  ${name}\n        ${why}\n`);
    }
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const broken = modules.filter((m) => m.state() === 'failed' && ![...m.children.allTests()].length);
    for (const m of broken)
      process.stdout.write(
        `FAILED  ${m.moduleId} (did not load: ${m.errors()[0]?.message.split('\n')[0] ?? 'unknown'})\n`,
      );
    process.stdout.write(`\nfault suite: ${this.held} held, ${this.failed + broken.length} failed\n`);
  }
}
