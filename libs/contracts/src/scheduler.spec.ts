import { ValidationError } from './errors';
import { platformEventCatalog, rpcDefinitions } from './events';
import {
  agentIdForHost,
  checkWorkingDir,
  JobProgressItem,
  JobTelemetryMessage,
  jobRunId,
  requeueBackoffMs,
  schedulerEvents,
  schedulerRpc,
  sweepTrialJobId,
} from './scheduler';
import { parseWith } from './schema';

const experimentId = '7d4e2f19-3c3b-4e5a-8f1d-6b2c0e9a7d43';
const runId = '9a1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11';
const jobId = '1f1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11';
const agentId = '2a1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11';

const submit = (request: Record<string, unknown>) => parseWith(schedulerRpc.submitJob.request, { experimentId, command: ['python', 'train.py'], ...request }, 'SubmitJob');
const messageOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as Error).message;
  }
  throw new Error('expected a ValidationError');
};

describe('scheduler contracts', () => {
  it('registers every scheduler event and exchange', () => {
    const catalog = platformEventCatalog();
    for (const type of Object.keys(schedulerEvents)) {
      expect(type).toMatch(/^scheduler\.[A-Z][A-Za-z]+\.v1$/);
      expect(catalog.has(type)).toBe(true);
    }
    for (const def of Object.values(schedulerRpc)) {
      expect(def.subject).toMatch(/^mt\.(cmd|qry)\.scheduler\.[A-Z][A-Za-z]+$/);
      expect(rpcDefinitions[def.subject as keyof typeof rpcDefinitions]).toBe(def);
    }
  });

  it('fills the defaults of a job', () => {
    expect(submit({})).toEqual({
      experimentId,
      params: {},
      datasetVersions: [],
      command: ['python', 'train.py'],
      env: {},
      workingDir: null,
      resources: { gpus: 0, gpuMemoryMb: 0, cpus: 1, memoryMb: 1024, labels: {} },
      priority: 0,
      maxRetries: 2,
      timeoutSeconds: null,
      cancelGraceSeconds: 10,
    });
    expect(submit({ resources: { gpus: 2, gpuMemoryMb: 40_000 } }).resources).toEqual({ gpus: 2, gpuMemoryMb: 40_000, cpus: 1, memoryMb: 1024, labels: {} });
  });

  it('keeps shell syntax inside argv as literal elements', () => {
    const argv = ['python', 'train.py', '--name', '; rm -rf /', '$(reboot)', '`id`', '&&', ''];
    expect(submit({ command: argv }).command).toEqual(argv);
  });

  it('refuses a shell string, an empty argv, an empty program and NUL characters, naming the field', () => {
    expect(messageOf(() => submit({ command: 'python train.py; rm -rf /' }))).toMatch(/field "command": must be a list of arguments \(argv\).*a shell string is not accepted/);
    expect(messageOf(() => submit({ command: [] }))).toMatch(/field "command": must hold at least the program to run/);
    expect(messageOf(() => submit({ command: ['  ', 'x'] }))).toMatch(/field "command\[0\]": the program \(the first element\) must not be empty/);
    expect(messageOf(() => submit({ command: ['python', 'a\u0000b'] }))).toMatch(/field "command\[1\]": an argument must not contain a NUL character/);
    expect(messageOf(() => submit({ command: ['python', 7] }))).toMatch(/field "command\[1\]": every argument must be a string/);
    expect(messageOf(() => submit({ command: Array.from({ length: 1_025 }, () => 'x') }))).toMatch(/field "command": must hold at most 1024 arguments/);
  });

  it('refuses env names the agent sets and names that are not POSIX names', () => {
    expect(submit({ env: { WANDB_MODE: 'offline', _X1: '' } }).env).toEqual({ WANDB_MODE: 'offline', _X1: '' });
    expect(messageOf(() => submit({ env: { MODELTRAIL_RUN_ID: 'x' } }))).toMatch(/field "env.MODELTRAIL_RUN_ID": MODELTRAIL_RUN_ID is refused: the agent sets the MODELTRAIL_\* variables itself/);
    expect(messageOf(() => submit({ env: { CUDA_VISIBLE_DEVICES: '0' } }))).toMatch(/field "env.CUDA_VISIBLE_DEVICES": .*the agent sets it to the GPUs the job is given/);
    expect(messageOf(() => submit({ env: { '1BAD': 'x' } }))).toMatch(/field "env.1BAD": variable name "1BAD" must be letters, digits and underscores/);
    expect(messageOf(() => submit({ env: { 'A-B': 'x' } }))).toMatch(/field "env.A-B"/);
    expect(messageOf(() => submit({ env: { A: 3 } }))).toMatch(/field "env.A": must be a string/);
  });

  it('refuses impossible resources, naming the field', () => {
    expect(messageOf(() => submit({ resources: { gpus: -1 } }))).toMatch(/field "resources.gpus": must not be negative/);
    expect(messageOf(() => submit({ resources: { gpus: 1.5 } }))).toMatch(/field "resources.gpus": must be a whole number of GPUs/);
    expect(messageOf(() => submit({ resources: { cpus: 0 } }))).toMatch(/field "resources.cpus": must be more than 0/);
    expect(messageOf(() => submit({ resources: { memoryMb: 0 } }))).toMatch(/field "resources.memoryMb": must be more than 0/);
    expect(messageOf(() => submit({ resources: { gpuMemoryMb: -5, gpus: 1 } }))).toMatch(/field "resources.gpuMemoryMb": must not be negative/);
    expect(messageOf(() => submit({ resources: { gpuMemoryMb: 16_000 } }))).toMatch(/field "resources.gpuMemoryMb": is memory per GPU: it needs gpus > 0/);
    expect(messageOf(() => submit({ resources: { cpus: Infinity } }))).toMatch(/field "resources.cpus"/);
    expect(messageOf(() => submit({ resources: { labels: { 'gpu type': 'a100' } } }))).toMatch(/field "resources.labels.gpu type": label name "gpu type"/);
  });

  it('refuses bad priorities, retries, timeouts and relative working directories', () => {
    expect(messageOf(() => submit({ priority: 1.5 }))).toMatch(/field "priority": must be a whole number/);
    expect(messageOf(() => submit({ priority: 5_000 }))).toMatch(/field "priority": must be between -1000 and 1000/);
    expect(messageOf(() => submit({ maxRetries: 11 }))).toMatch(/field "maxRetries": must be at most 10/);
    expect(messageOf(() => submit({ timeoutSeconds: 0 }))).toMatch(/field "timeoutSeconds": must be at least 1 second/);
    expect(messageOf(() => submit({ cancelGraceSeconds: -1 }))).toMatch(/field "cancelGraceSeconds": must not be negative/);
    expect(messageOf(() => submit({ workingDir: 'data/train' }))).toMatch(/field "workingDir": must be an absolute path/);
  });

  it('takes either an existing run or an experiment to start a run in', () => {
    expect(parseWith(schedulerRpc.submitJob.request, { runId, command: ['python'] }, 'SubmitJob').runId).toBe(runId);
    expect(messageOf(() => submit({ runId }))).toMatch(/field "runId": give either runId \(an existing run\) or experimentId \(a new run\), not both/);
    expect(messageOf(() => parseWith(schedulerRpc.submitJob.request, { command: ['python'] }, 'SubmitJob'))).toMatch(/field "experimentId": is required unless runId names an existing run/);
    expect(messageOf(() => parseWith(schedulerRpc.submitJob.request, { runId, command: ['python'], params: { lr: 0.1 } }, 'SubmitJob'))).toMatch(
      /field "params": belong to a new run/,
    );
  });

  it('resolves a working directory against the allowed roots', () => {
    expect(checkWorkingDir('/data/projects/churn/../churn2/./', ['/data/projects', '/scratch'])).toBe('/data/projects/churn2');
    expect(checkWorkingDir('/scratch', ['/scratch/'])).toBe('/scratch');
    expect(() => checkWorkingDir('/data/projects/../../etc', ['/data/projects'])).toThrow('workingDir "/data/projects/../../etc" resolves to /etc, which is outside the allowed roots /data/projects');
    expect(() => checkWorkingDir('/data/projects-other', ['/data/projects'])).toThrow(/outside the allowed roots/);
    expect(() => checkWorkingDir('/etc', [])).toThrow(/allows no working directories/);
    expect(() => checkWorkingDir('relative', ['/data'])).toThrow(ValidationError);
  });

  it('checks a finished report: exit code 0 for success, a cause for failure', () => {
    const base = { jobId, agentId, fencingToken: 3 };
    expect(parseWith(schedulerRpc.reportJobFinished.request, { ...base, outcome: 'SUCCEEDED', exitCode: 0 }, 'ReportJobFinished')).toMatchObject({ signal: null, durationMs: null, reason: null });
    expect(messageOf(() => parseWith(schedulerRpc.reportJobFinished.request, { ...base, outcome: 'SUCCEEDED', exitCode: 1 }, 'ReportJobFinished'))).toMatch(/field "exitCode": must be 0/);
    expect(messageOf(() => parseWith(schedulerRpc.reportJobFinished.request, { ...base, outcome: 'FAILED' }, 'ReportJobFinished'))).toMatch(/field "reason": a FAILED outcome needs/);
    expect(messageOf(() => parseWith(schedulerRpc.reportJobFinished.request, { ...base, outcome: 'TIMED_OUT', signal: 'KILL' }, 'ReportJobFinished'))).toMatch(/field "signal": must be a signal name/);
    expect(messageOf(() => parseWith(schedulerRpc.reportJobFinished.request, { ...base, fencingToken: 0, outcome: 'CANCELLED' }, 'ReportJobFinished'))).toMatch(/field "fencingToken": must be at least 1/);
  });

  it('checks sweep spaces: not empty, values or a range, ranges for RANDOM only', () => {
    const sweep = (request: Record<string, unknown>) => parseWith(schedulerRpc.submitSweep.request, { experimentId, command: ['python', 'train.py'], strategy: 'GRID', ...request }, 'SubmitSweep');
    expect(sweep({ space: { lr: { values: [0.1, 0.01] } } }).space).toEqual({ lr: { values: [0.1, 0.01], range: null } });
    expect(messageOf(() => sweep({ space: {} }))).toMatch(/field "space": must define at least one parameter/);
    expect(messageOf(() => sweep({ space: { lr: { values: [] } } }))).toMatch(/field "space.lr.values": must list at least one value/);
    expect(messageOf(() => sweep({ space: { lr: {} } }))).toMatch(/field "space.lr": must give either values/);
    expect(messageOf(() => sweep({ space: { lr: { range: { min: 0, max: 1 } } } }))).toMatch(/field "space.lr": a GRID sweep needs a list of values for lr/);
    expect(messageOf(() => sweep({ strategy: 'RANDOM', space: { lr: { range: { min: 0, max: 1, log: true } } }, maxTrials: 5 }))).toMatch(/field "space.lr.range.min": a log range needs min > 0/);
    expect(messageOf(() => sweep({ strategy: 'RANDOM', space: { lr: { range: { min: 2, max: 1 } } }, maxTrials: 5 }))).toMatch(/field "space.lr.range.max": must not be less than min/);
    expect(messageOf(() => sweep({ strategy: 'RANDOM', space: { lr: { values: [1] } } }))).toMatch(/field "maxTrials": is required for a RANDOM sweep/);
    expect(messageOf(() => sweep({ space: { lr: { values: [1] } }, params: { lr: 3 } }))).toMatch(/field "params": lr is both fixed and swept/);
  });

  it('checks an agent registration: GPU uuids, duplicate GPUs, probe status', () => {
    const sessionId = '3a1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11';
    const gpu = { index: 0, uuid: 'GPU-5f2c1d2e-0000-1111-2222-333344445555', name: 'NVIDIA A100', memoryMb: 81_920, status: 'AVAILABLE' };
    const base = { agentId, sessionId, hostname: 'gpu-node-1', cpus: 64, memoryMb: 512_000, gpuProbe: { status: 'OK' }, gpus: [gpu] };
    expect(parseWith(schedulerRpc.registerAgent.request, base, 'RegisterAgent')).toMatchObject({ labels: {}, replaceSession: false, gpuProbe: { status: 'OK', message: '' } });
    expect(messageOf(() => parseWith(schedulerRpc.registerAgent.request, { ...base, gpus: [{ ...gpu, uuid: 'GPU 0,1' }] }, 'RegisterAgent'))).toMatch(/field "gpus\[0\].uuid": must be a GPU UUID/);
    expect(messageOf(() => parseWith(schedulerRpc.registerAgent.request, { ...base, gpus: [gpu, { ...gpu, uuid: 'GPU-other' }] }, 'RegisterAgent'))).toMatch(/field "gpus\[1\].index": GPU index 0 is listed more than once/);
    expect(messageOf(() => parseWith(schedulerRpc.registerAgent.request, { ...base, gpuProbe: { status: 'BROKEN' } }, 'RegisterAgent'))).toMatch(/field "gpuProbe.status": must be one of OK, TIMEOUT, ERROR, ABSENT, MIG_PARTIAL/);
    expect(messageOf(() => parseWith(schedulerRpc.registerAgent.request, { ...base, agentId: 'node-1' }, 'RegisterAgent'))).toMatch(/field "agentId": must be a UUID/);
  });

  it('parses live progress items by kind', () => {
    const at = '2026-11-22T10:00:00.000Z';
    expect(JobProgressItem.parse({ kind: 'METRIC', seq: 0, at, key: 'loss', value: 0.5, step: 1 })).toMatchObject({ kind: 'METRIC' });
    expect(JobProgressItem.parse({ kind: 'LOG', seq: 1, at, stream: 'stderr', line: 'warning' })).toMatchObject({ kind: 'LOG' });
    expect(JobProgressItem.safeParse({ kind: 'LOG', seq: 1, at, stream: 'stdin', line: 'x' }).success).toBe(false);
    expect(JobTelemetryMessage.safeParse({ jobId, kind: 'logs', items: [{ kind: 'LOG', seq: 2, at, stream: 'stdout', line: 'epoch 1' }] }).success).toBe(true);
    expect(() => parseWith(JobTelemetryMessage, { jobId, kind: 'logs', items: [{ kind: 'METRIC', seq: 3, at, key: 'loss', value: 1, step: 0 }] }, 'telemetry')).toThrow(
      /field "items\[0\].kind": a logs message carries LOG items only/,
    );
  });

  it('derives stable ids and a capped backoff', () => {
    expect(jobRunId(jobId)).toBe(jobRunId(jobId.toUpperCase()));
    expect(jobRunId(jobId)).not.toBe(jobId);
    expect(sweepTrialJobId(jobId, 0)).not.toBe(sweepTrialJobId(jobId, 1));
    expect(agentIdForHost(' GPU-node-1 ')).toBe(agentIdForHost('gpu-node-1'));
    expect([1, 2, 3, 4, 10].map(requeueBackoffMs)).toEqual([5_000, 10_000, 20_000, 40_000, 300_000]);
  });

  it('lists jobs by the run they train into, and records a refused retraining job with the refusal code', () => {
    expect(parseWith(schedulerRpc.listJobs.request, { filter: { runId } }, 'ListJobs').filter).toEqual({ runId });
    expect(messageOf(() => parseWith(schedulerRpc.listJobs.request, { filter: { runId: 'run-1' } }, 'ListJobs'))).toContain('filter.runId');
    const refused = { jobId, retrainId: runId, experimentId, code: 'NOT_FOUND', reason: 'experiment gone', refusedAt: '2026-12-01T00:00:00.000Z' };
    expect(schedulerEvents['scheduler.RetrainJobRefused.v1'].parse(refused)).toEqual(refused);
    expect(schedulerEvents['scheduler.RetrainJobRefused.v1'].safeParse({ ...refused, code: 'UNAVAILABLE' }).success).toBe(false);
  });
});
