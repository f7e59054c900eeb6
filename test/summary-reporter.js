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
      skipReasons: skipReasons(results, this.rootDir),
    };
    const dir = path.join(this.rootDir, 'test-results');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'summary.json'), JSON.stringify(summary, null, 2));
    const reasons = Object.entries(summary.skipReasons);
    if (reasons.length) {
      process.stdout.write('\nskipped, and why:\n');
      for (const [reason, { tests, files }] of reasons) process.stdout.write(`  ${reason}: ${tests} tests in ${files.length} files\n`);
    }
    process.stdout.write(`\ntests: ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped\n`);
  }
}

/**
 * Skipped tests grouped by the reason their names give (`... (skipped: needs a NATS server at
 * ..., none answered)`, on the test or on an enclosing describe); tests skipped without one are
 * counted under "no reason given".
 */
function skipReasons(results, rootDir) {
  const reasons = {};
  for (const file of results.testResults) {
    for (const test of file.testResults) {
      if (test.status !== 'pending' && test.status !== 'todo') continue;
      const named = [...test.ancestorTitles, test.title].map((title) => /\(skipped: (.*)\)\s*$/.exec(title)?.[1]).find(Boolean);
      const reason = named ?? 'no reason given';
      const entry = (reasons[reason] ??= { tests: 0, files: [] });
      entry.tests++;
      const relative = path.relative(rootDir, file.testFilePath);
      if (!entry.files.includes(relative)) entry.files.push(relative);
    }
  }
  return reasons;
}

module.exports = SummaryReporter;
