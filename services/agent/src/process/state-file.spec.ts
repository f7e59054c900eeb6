import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { killQuietly, NODE, tempDirs, waitFor } from '../../test/helpers';
import { stopProcessGroup } from './group';
import { processGroupAlive, processIdentity } from './procfs';
import { JobStateFile, recordedJobState, type RunningJobRecord } from './state-file';

const dir = tempDirs('state');

const record = (jobId: string, over: Partial<RunningJobRecord> = {}): RunningJobRecord => ({
  jobId,
  runId: `run-of-${jobId}`,
  fencingToken: 7,
  pid: 4242,
  pgid: 4242,
  startedAt: '2026-12-01T10:00:00.000Z',
  outputDir: `/var/lib/modeltrail/jobs/${jobId}/outputs`,
  identity: null,
  ...over,
});

describe('JobStateFile', () => {
  it('records and forgets jobs, atomically, leaving no temporary file', async () => {
    const file = new JobStateFile(join(dir(), 'agent'));
    expect(await file.read()).toEqual([]);
    await Promise.all([file.put(record('a')), file.put(record('b')), file.put(record('c'))]);
    await file.put(record('b', { fencingToken: 8 }));
    await file.remove('a');
    await file.remove('not-there');
    expect(await new JobStateFile(join(dir(), 'agent')).read()).toEqual([record('c'), record('b', { fencingToken: 8 })]);
    expect(await readdir(join(dir(), 'agent'))).toEqual(['running-jobs.json']);
    expect(JSON.parse(await readFile(file.path, 'utf8')).format).toBe(1);
  });

  it('names the file when it cannot be read as one, and refuses a bad record', async () => {
    const file = new JobStateFile(dir());
    await writeFile(file.path, '{"format": 1, "jobs": [');
    await expect(file.read()).rejects.toThrow(/running-jobs.json is not JSON/);
    await writeFile(file.path, '{"format": 1, "jobs": [{"jobId": "a"}]}');
    await expect(file.read()).rejects.toThrow(/jobs\[0\]: runId must be a non-empty string/);
    await expect(file.put(record('x', { pgid: 1 }))).rejects.toThrow(/pgid must be a process id above 1/);
  });
});

describe('recordedJobState', () => {
  it('tells a job whose group still runs from one that is gone, and a reused pid from the process recorded', async () => {
    const child = spawn(NODE, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' });
    const pid = child.pid as number;
    try {
      const running = record('live', { pid, pgid: pid, identity: processIdentity(pid) });
      expect(recordedJobState(running)).toEqual({ state: 'RUNNING', record: running });
      const reused = { ...running, identity: `${processIdentity(pid)?.split('/')[0]}/1` };
      expect(recordedJobState(reused)).toMatchObject({ state: 'GONE', reason: expect.stringMatching(/belongs to another process/) });
      expect(await stopProcessGroup(pid, 1_000)).toEqual({ killed: false, gone: true });
      expect(processGroupAlive(pid)).toBe(false);
      expect(recordedJobState(running)).toMatchObject({ state: 'GONE', reason: expect.stringMatching(/no live process/) });
    } finally {
      killQuietly([pid]);
    }
  });

  it('stopProcessGroup SIGKILLs a group that ignores SIGTERM after the grace', async () => {
    const child = spawn(NODE, ['-e', "process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000)"], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    const pid = child.pid as number;
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await waitFor(() => output.includes('ready'), 'the SIGTERM handler to be installed');
      expect(await stopProcessGroup(pid, 200)).toEqual({ killed: true, gone: true });
    } finally {
      killQuietly([pid]);
    }
  });
});
