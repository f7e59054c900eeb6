// Jest reporter: prints one plain totals line at the end of every run and writes it to
// test-results/summary.json, so CI can tell a run that executed nothing from a green one.
const fs = require('node:fs');
const path = require('node:path');

class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const summary = {
      passed: results.numPassedTests,
      failed: results.numFailedTests,
      skipped,
      suitesFailed: results.numFailedTestSuites,
      runtimeErrorSuites: results.numRuntimeErrorTestSuites,
      skippedSuites: results.testResults
        .filter((r) => r.testResults.length > 0 && r.testResults.every((t) => t.status === 'pending' || t.status === 'todo'))
        .map((r) => path.relative(this.rootDir, r.testFilePath)),
    };
    const dir = path.join(this.rootDir, 'test-results');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'summary.json'), JSON.stringify(summary, null, 2));
    process.stdout.write(`\ntests: ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped\n`);
  }
}

module.exports = SummaryReporter;
