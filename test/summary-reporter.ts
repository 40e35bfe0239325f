/**
 * Prints the closing lines for CI: `tests: N passed, N failed, N skipped`, and whether the
 * external corpus tier (test/unit/external-corpus.test.ts) ran.
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    let hookFailures = 0;
    let corpus: { ran: number; skipped: number } | undefined;
    for (const mod of testModules) {
      const isCorpus = mod.moduleId.endsWith('external-corpus.test.ts');
      if (isCorpus) corpus = { ran: 0, skipped: 0 };
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
        if (corpus && isCorpus) {
          if (state === 'skipped') corpus.skipped++;
          else corpus.ran++;
        }
      }
      // A hook that failed (beforeAll, afterAll) leaves its tests "skipped" but its file failed:
      // that is a failure, never a quiet skip.
      if (mod.state() === 'failed' && ![...mod.children.allTests()].some((t) => t.result().state === 'failed')) hookFailures++;
    }
    failed += hookFailures;
    const lines = [`tests: ${passed} passed, ${failed} failed${hookFailures > 0 ? ` (${hookFailures} test file${hookFailures === 1 ? '' : 's'} failed outside a test)` : ''}, ${skipped} skipped`];
    if (corpus) {
      lines.push(corpus.ran > 0
        ? `external corpus tier: ran (${corpus.ran} checks on ${process.env['TAGDRIFT_CORPUS_DIR'] ?? '../shared/corpus'})`
        : 'external corpus tier: not run (no ../shared/corpus beside the repository; set TAGDRIFT_CORPUS_DIR to run it)');
    }
    process.stdout.write(`\n${lines.join('\n')}\n`);
  }
}
