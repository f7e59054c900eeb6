import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isRoot, killQuietly, NODE, tempDirs, waitFor } from '../../test/helpers';
import { JobStartError, startJobProcess, type JobProcessSpec, type OutputLine } from './job-process';
import { processAlive } from './procfs';

const dir = tempDirs('process');

/** A job running `node -e <script> ...args`, its lines collected. */
async function run(script: string, overrides: Partial<JobProcessSpec> = {}, args: string[] = []) {
  const lines: OutputLine[] = [];
  const job = await startJobProcess({
    jobId: 'job-1',
    runId: 'run-1',
    argv: [NODE, '-e', script, ...args],
    gpuUuids: [],
    outputDir: join(dir(), 'out'),
    workingDir: dir(),
    onLine: (line) => lines.push(line),
    ...overrides,
  });
  const stdout = () => lines.filter((l) => l.stream === 'stdout').map((l) => l.text);
  return { job, lines, stdout };
}

describe('startJobProcess', () => {
  it('passes argv literally, without a shell: "; rm -rf /" and "$(...)" arrive as plain arguments', async () => {
    const canary = join(dir(), 'canary');
    const args = ['; rm -rf /', `$(touch ${canary})`, '`touch ${canary}`', '*', '&& echo hi', "it's \"quoted\""];
    const { job, stdout } = await run('console.log(JSON.stringify(process.argv.slice(1)))', {}, args);
    const exit = await job.exited;
    expect(exit.outcome).toBe('SUCCEEDED');
    expect(JSON.parse(stdout()[0])).toEqual(args);
    expect(existsSync(canary)).toBe(false);
  });

  it('builds the environment: base < job < platform; platform variables cannot be overridden; nothing else leaks from the agent', async () => {
    const script = `const e = process.env; console.log(JSON.stringify({A: e.A, B: e.B, PATH: e.PATH, HOME: e.HOME ?? null, CUDA: e.CUDA_VISIBLE_DEVICES, RUN: e.MODELTRAIL_RUN_ID, JOB: e.MODELTRAIL_JOB_ID, OUT: e.MODELTRAIL_OUTPUT_DIR, PROTO: e.MODELTRAIL_PROTOCOL, SUBJECT: e.MODELTRAIL_TELEMETRY_SUBJECT ?? null, PY: e.PYTHONUNBUFFERED}))`;
    const { job, stdout } = await run(script, {
      baseEnv: { PATH: '/usr/bin:/bin', A: 'base', B: 'base', CUDA_VISIBLE_DEVICES: '0,1,2,3' },
      jobEnv: { B: 'job', MODELTRAIL_RUN_ID: 'forged', CUDA_VISIBLE_DEVICES: 'all', MODELTRAIL_TELEMETRY_SUBJECT: 'forged.subject' },
      gpuUuids: ['GPU-aaaa-1111', 'GPU-bbbb-2222'],
    });
    const exit = await job.exited;
    expect(JSON.parse(stdout()[0])).toEqual({
      A: 'base',
      B: 'job',
      PATH: '/usr/bin:/bin',
      HOME: null,
      CUDA: 'GPU-aaaa-1111,GPU-bbbb-2222',
      RUN: 'run-1',
      JOB: 'job-1',
      OUT: join(dir(), 'out'),
      PROTO: '1',
      SUBJECT: null,
      PY: '1',
    });
    expect(exit.warnings.join('\n')).toMatch(/MODELTRAIL_RUN_ID/);
    expect(exit.warnings.join('\n')).toMatch(/CUDA_VISIBLE_DEVICES/);
    expect((await stat(join(dir(), 'out'))).isDirectory()).toBe(true);
  });

  it('sets CUDA_VISIBLE_DEVICES to the empty string for a job without GPUs, and passes the telemetry subject', async () => {
    const { job, stdout } = await run('console.log(JSON.stringify([process.env.CUDA_VISIBLE_DEVICES, process.env.MODELTRAIL_TELEMETRY_SUBJECT]))', {
      telemetrySubject: 'modeltrail.telemetry.run-1',
    });
    await job.exited;
    expect(JSON.parse(stdout()[0])).toEqual(['', 'modeltrail.telemetry.run-1']);
  });

  it('captures both streams line by line with one sequence, the last unterminated line, CRLF, and cuts over-long lines', async () => {
    const script = [
      "const w = (s, t) => require('fs').writeSync(s === 1 ? 1 : 2, t);",
      "w(1, 'out 1\\n'); w(2, 'err 1\\n'); w(1, 'out 2\\r\\n');",
      "w(2, 'x'.repeat(1000) + '\\n'); w(1, 'é'.repeat(100) + '\\n');",
      "w(1, 'last without newline');",
    ].join('\n');
    const { job, lines } = await run(script, { maxLineBytes: 101 });
    await job.exited;
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i));
    const byStream = (s: string) => lines.filter((l) => l.stream === s).map((l) => [l.text, l.truncated]);
    expect(byStream('stdout')).toEqual([
      ['out 1', false],
      ['out 2', false],
      ['é'.repeat(50), true], // 101 bytes would cut a 2-byte character: 100 bytes kept
      ['last without newline', false],
    ]);
    expect(byStream('stderr')).toEqual([
      ['err 1', false],
      ['x'.repeat(101), true],
    ]);
    for (const line of lines) expect(Number.isNaN(Date.parse(line.time))).toBe(false);
    // Written in this order with synchronous writes, read from two pipes: each stream's order is kept.
    expect(lines.filter((l) => l.stream === 'stdout')[0].seq).toBeLessThan(lines.filter((l) => l.stream === 'stdout')[1].seq);
  });

  it('reports exit codes and signals: 0 SUCCEEDED, 3 FAILED, a signal FAILED', async () => {
    expect(await (await run('process.exit(0)')).job.exited).toMatchObject({ exitCode: 0, signal: null, outcome: 'SUCCEEDED', stopReason: null, killed: false });
    expect(await (await run('process.exit(3)')).job.exited).toMatchObject({ exitCode: 3, signal: null, outcome: 'FAILED' });
    expect(await (await run("process.kill(process.pid, 'SIGKILL')")).job.exited).toMatchObject({ exitCode: null, signal: 'SIGKILL', outcome: 'FAILED' });
  });

  it('stop: SIGTERM, and a job that exits on it ends CANCELLED without SIGKILL', async () => {
    const { job, stdout } = await run("process.on('SIGTERM', () => { console.log('bye'); process.exit(0); }); console.log('ready'); setInterval(() => {}, 1000);");
    await waitFor(() => stdout().includes('ready'), 'the job to start');
    const exit = await job.stop('cancelled by alice', 30);
    expect(exit).toMatchObject({ outcome: 'CANCELLED', stopReason: 'cancelled by alice', killed: false, exitCode: 0 });
    expect(exit.durationMs).toBeLessThan(5_000);
    expect(stdout()).toEqual(['ready', 'bye']);
  });

  it('stop: SIGKILLs the whole group after the grace, a child and a grandchild that both ignore SIGTERM included', async () => {
    const grandchild = "process.on('SIGTERM', () => {}); console.log('grandchild ' + process.pid); setInterval(() => {}, 1000);";
    const script = `process.on('SIGTERM', () => console.log('child ignores SIGTERM'));
      require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(grandchild)}], { stdio: 'inherit' });
      console.log('child ' + process.pid); setInterval(() => {}, 1000);`;
    const { job, stdout } = await run(script);
    const pids = await waitFor(() => {
      const child = stdout().find((l) => l.startsWith('child '));
      const grand = stdout().find((l) => l.startsWith('grandchild '));
      return child && grand ? [Number(child.split(' ')[1]), Number(grand.split(' ')[1])] : null;
    }, 'both processes to start');
    try {
      expect(pids[0]).toBe(job.pid);
      expect(pids.every(processAlive)).toBe(true);
      const started = Date.now();
      const exit = await job.stop('cancel', 0.3);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(exit).toMatchObject({ outcome: 'CANCELLED', killed: true, signal: 'SIGKILL', exitCode: null });
      expect(stdout()).toContain('child ignores SIGTERM');
      expect(pids.map(processAlive)).toEqual([false, false]);
    } finally {
      killQuietly(pids);
    }
  });

  it('a second stop with a shorter grace brings the SIGKILL forward and keeps the first reason', async () => {
    const { job, stdout } = await run("process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000);");
    await waitFor(() => stdout().includes('ready'), 'the job to start');
    const first = job.stop('user cancel', 60);
    const started = Date.now();
    const exit = await job.stop('agent shutting down', 0);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await first).toBe(exit);
    expect(exit).toMatchObject({ outcome: 'CANCELLED', stopReason: 'user cancel', killed: true });
    expect(await job.stop('again', 0)).toBe(exit);
  });

  it('stops a job at its time limit: TIMED_OUT', async () => {
    const { job } = await run("process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);", { timeoutSeconds: 0.3, timeoutGraceSeconds: 0.2 });
    const exit = await job.exited;
    expect(exit).toMatchObject({ outcome: 'TIMED_OUT', stopReason: 'timeout after 0.3 s', killed: true });
    expect(exit.durationMs).toBeGreaterThanOrEqual(450);
    expect(exit.durationMs).toBeLessThan(5_000);
  });

  it('a job that ends before its time limit is not stopped', async () => {
    const { job } = await run('setTimeout(() => process.exit(0), 50)', { timeoutSeconds: 0.5, timeoutGraceSeconds: 0 });
    expect(await job.exited).toMatchObject({ outcome: 'SUCCEEDED', killed: false, stopReason: null });
  });

  it('stops processes the job left running in its group when it ends by itself, and keeps its outcome', async () => {
    const grandchild = "process.on('SIGTERM', () => {}); console.log('left ' + process.pid); setInterval(() => {}, 1000);";
    const script = `require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(grandchild)}], { stdio: ['ignore', 'inherit', 'ignore'] });
      setTimeout(() => process.exit(0), 300);`;
    const { job, stdout } = await run(script, { leftoverGraceSeconds: 0.2 });
    const left = await waitFor(() => stdout().find((l) => l.startsWith('left ')), 'the grandchild to start');
    const pid = Number(left.split(' ')[1]);
    try {
      const exit = await job.exited;
      expect(exit).toMatchObject({ outcome: 'SUCCEEDED', exitCode: 0, killed: true });
      expect(exit.warnings.join('\n')).toMatch(/still ran after its main process ended/);
      expect(processAlive(pid)).toBe(false);
    } finally {
      killQuietly([pid]);
    }
  });

  it('refuses to start a program that does not exist, with the reason', async () => {
    const start = startJobProcess({
      jobId: 'j',
      runId: 'r',
      argv: [join(dir(), 'no-such-program'), '--x'],
      gpuUuids: [],
      outputDir: join(dir(), 'out'),
      workingDir: dir(),
      onLine: () => undefined,
    });
    await expect(start).rejects.toBeInstanceOf(JobStartError);
    await expect(start).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses an empty command, a NUL in an argument and a NUL in an environment value', async () => {
    const base = { jobId: 'j', runId: 'r', gpuUuids: [], outputDir: join(dir(), 'out'), workingDir: dir(), onLine: () => undefined };
    await expect(startJobProcess({ ...base, argv: [] })).rejects.toThrow(/must name a program/);
    await expect(startJobProcess({ ...base, argv: [NODE, 'a\0b'] })).rejects.toThrow(/NUL/);
    await expect(startJobProcess({ ...base, argv: [NODE], jobEnv: { X: 'a\0b' } })).rejects.toThrow(/NUL/);
  });

  (isRoot ? it : it.skip)(`runs the job as nobody when the agent is root: it writes its output directory and nothing outside it${isRoot ? '' : ' (skipped: runs only as root)'}`, async () => {
    const { jobUserFor } = await import('./user');
    const user = await jobUserFor(undefined, 0);
    expect(user).not.toBeNull();
    await chmod(dir(), 0o755); // traversable, not writable, by others
    const outside = join(dir(), 'shared');
    await mkdir(outside, { mode: 0o755 });
    const outputDir = join(dir(), 'out');
    const script = `const fs = require('fs'); const path = require('path');
      const tryWrite = (p) => { try { fs.writeFileSync(p, 'x'); return 'ok'; } catch (e) { return e.code; } };
      console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(),
        inside: tryWrite(path.join(process.env.MODELTRAIL_OUTPUT_DIR, 'model.bin')),
        outside: tryWrite(${JSON.stringify(join(outside, 'evil'))}), top: tryWrite(${JSON.stringify(join(dir(), 'evil'))}) }));`;
    const { job, stdout } = await run(script, { user, outputDir, workingDir: outputDir });
    const exit = await job.exited;
    expect(exit.outcome).toBe('SUCCEEDED');
    const seen = JSON.parse(stdout()[0]);
    expect(seen).toMatchObject({ uid: user!.uid, gid: user!.gid, inside: 'ok', outside: 'EACCES', top: 'EACCES' });
    expect(seen.groups).not.toContain(0);
    expect((await stat(outputDir)).uid).toBe(user!.uid);
    expect(await readFile(join(outputDir, 'model.bin'), 'utf8')).toBe('x');
    expect(existsSync(join(outside, 'evil'))).toBe(false);
  });
});
