/**
 * `npm run verify -- report.json [--key <verifierKey>] [--json]`: verifies an audit report
 * offline (services/lineage/src/audit/audit.verify.ts). No network, no database, no
 * configuration. Exit status: 0 every check passes, 1 some check fails, 2 usage error
 * (no file, unreadable file, not JSON).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { verifyReport, type VerifyOptions, type VerifyResult } from '../../services/lineage/src/audit/audit.verify';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const USAGE = 'usage: npm run verify -- <report.json> [--key <verifierKey>] [--json]';

const processIo: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** What reading and verifying a report file gives: the result, or why the file could not be read as a report. */
export type VerifyFileOutcome = { ok: true; result: VerifyResult } | { ok: false; reason: 'unreadable' | 'missing' | 'not-json'; problem: string };

/** Reads a report file and verifies it (audit.verify.ts): the checks, or why the file is not a report to check. */
export function verifyReportFile(file: string, options: VerifyOptions = {}): VerifyFileOutcome {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ENOENT' ? 'missing' : 'unreadable', problem: `cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : error instanceof Error ? error.message : String(error)}` };
  }
  let report: unknown;
  try {
    report = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: 'not-json', problem: `${file} is not valid JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  return { ok: true, result: verifyReport(report, options) };
}

/** The checks as lines for people: one per check, then the verdict. */
export function formatVerifyResult(file: string, result: VerifyResult): string {
  const lines = result.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.check}: ${c.detail}\n`).join('');
  const failed = result.checks.filter((c) => !c.ok).length;
  return lines + (result.ok ? `\n${file}: all ${result.checks.length} checks passed\n` : `\n${file}: ${failed} of ${result.checks.length} checks FAILED\n`);
}

export function main(argv: string[], io: CliIo = processIo): number {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.err(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    return 2;
  }
  if (parsed.values.help) {
    io.out(`${USAGE}\n`);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    io.err(`${parsed.positionals.length === 0 ? 'no report file given' : `one report file expected, got ${parsed.positionals.length}: ${parsed.positionals.join(' ')}`}\n${USAGE}\n`);
    return 2;
  }
  const file = parsed.positionals[0];
  const key = parsed.values.key;
  if (key !== undefined && key.trim() === '') {
    io.err(`--key is empty\n${USAGE}\n`);
    return 2;
  }
  const outcome = verifyReportFile(file, { verifierKey: key });
  if (!outcome.ok) {
    io.err(`${outcome.problem}\n`);
    return 2;
  }
  const { result } = outcome;
  if (parsed.values.json) {
    io.out(`${JSON.stringify({ file, ...result }, null, 2)}\n`);
  } else {
    for (const w of result.warnings) io.err(`WARNING: ${w}\n`);
    io.out(formatVerifyResult(file, result));
  }
  return result.ok ? 0 : 1;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: { key: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    allowPositionals: true,
    strict: true,
  });
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
