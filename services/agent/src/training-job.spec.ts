import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { MetricPointInput } from '@modeltrail/contracts';
import { ArtifactStore } from '@modeltrail/artifacts';
import { isRoot, REPO_ROOT, tempDirs } from '../test/helpers';
import { findOnPath } from './gpu/command';
import { collectOutputs } from './outputs/collect';
import { startJobProcess, type OutputLine } from './process/job-process';
import { jobUserFor } from './process/user';
import { MetricBatcher } from './protocol/batcher';
import { JobOutputReader, type ProtocolWarning } from './protocol/reader';
import { pythonForAnyone } from '../test/python';

/**
 * The example training script run end to end the way the agent runs a job: startJobProcess from
 * an unrelated working directory, its stdout read through the protocol, metrics batched, and its
 * outputs stored once it has ended.
 */

const dir = tempDirs('training');
// The jobs import sdk/python/modeltrail.py from the repository: no __pycache__ left there.
const python = findOnPath('python3', process.env.PATH);

(python ? describe : describe.skip)('examples/training/train.py as a job (needs python3 on PATH)', () => {
  it('reports params, per-step metrics in order and its model, which is stored with its digest', async () => {
    const workingDir = join(dir(), 'somewhere-else');
    await mkdir(workingDir);
    const outputDir = join(dir(), 'jobs', 'job-7', 'outputs');
    const sent: MetricPointInput[][] = [];
    const batcher = new MetricBatcher({ logMetrics: async (points) => void sent.push(points), maxPoints: 8, maxDelayMs: 50 });
    const logs: OutputLine[] = [];
    const warnings: ProtocolWarning[] = [];
    const statuses: string[] = [];
    const reader = new JobOutputReader({ metrics: batcher, onLog: (l) => logs.push(l), onWarning: (w) => warnings.push(w), onStatus: (s) => statuses.push(s.message) });

    const job = await startJobProcess({
      jobId: 'job-7',
      runId: 'run-7',
      argv: [python as string, join(REPO_ROOT, 'examples', 'training', 'train.py'), '--epochs', '2', '--steps-per-epoch', '5', '--step-delay', '0'],
      baseEnv: { PATH: process.env.PATH, HOME: process.env.HOME, PYTHONDONTWRITEBYTECODE: '1' },
      gpuUuids: [],
      outputDir,
      workingDir,
      timeoutSeconds: 30,
      onLine: reader.onLine,
    });
    const exit = await job.exited;
    const stats = await batcher.close();

    expect(exit).toMatchObject({ outcome: 'SUCCEEDED', exitCode: 0, warnings: [] });
    expect(warnings).toEqual([]);
    expect(logs.filter((l) => l.stream === 'stderr')).toEqual([]);
    expect(logs.map((l) => l.text)).toEqual([
      'training on 1600 rows, validating on 400',
      expect.stringMatching(/^epoch 1: val loss \d\.\d{4}, val accuracy \d\.\d{3}$/),
      expect.stringMatching(/^epoch 2: val loss/),
      `model written to ${join(outputDir, 'model.json')}`,
    ]);
    expect(statuses).toEqual(['epoch 1 of 2', 'epoch 2 of 2']);
    expect(reader.params).toMatchObject({ model: 'logistic-regression', lr: 0.1, epochs: 2, steps_per_epoch: 5, seed: 7 });

    // Every point arrived once, in the order the script wrote them, in batches of at most 8.
    const points = sent.flat();
    expect(stats).toMatchObject({ sentPoints: points.length, droppedPoints: 0 });
    expect(sent.every((batch) => batch.length <= 8)).toBe(true);
    const trainLoss = points.filter((p) => p.key === 'train/loss');
    expect(trainLoss.map((p) => p.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(trainLoss[0].value).toBeCloseTo(Math.log(2), 10); // zero weights: p = 0.5
    expect(points.filter((p) => p.key === 'val/accuracy').map((p) => p.step)).toEqual([4, 9]);
    expect(points.filter((p) => p.key === 'val/accuracy').every((p) => p.value > 0.8)).toBe(true);
    expect(points.length).toBe(10 * 2 + 2 * 3);

    // The model file, named by the script, is stored under its name with the digest of its bytes.
    expect(reader.declaredArtifacts).toEqual([{ path: join(outputDir, 'model.json'), name: 'model', seq: expect.any(Number) }]);
    const store = new ArtifactStore(join(dir(), 'store'));
    const { artifacts, warnings: outputWarnings } = await collectOutputs({ outputDir, store, declared: reader.declaredArtifacts });
    const bytes = await readFile(join(outputDir, 'model.json'));
    expect(outputWarnings).toEqual([]);
    expect(artifacts).toEqual([{ name: 'model', uri: expect.stringMatching(/^file:\/\/.*\.json$/), digest: createHash('sha256').update(bytes).digest('hex'), size: bytes.length }]);
    expect(JSON.parse(bytes.toString())).toMatchObject({ type: 'logistic-regression', features: 4 });
  });

  (isRoot ? it : it.skip)(`runs as the unprivileged job user when the agent is root, its model still stored${isRoot ? '' : ' (skipped: runs only as root)'}`, async () => {
    const user = await jobUserFor(undefined, 0);
    const anyonesPython = pythonForAnyone();
    if (anyonesPython === null) throw new Error('no python3 on PATH that the job user may run (all of them sit under directories only their owner may enter)');
    const outputDir = join(dir(), 'outputs-of-nobody');
    await chmod(dir(), 0o755);
    const reader = new JobOutputReader({ metrics: { add: () => undefined } });
    const job = await startJobProcess({
      jobId: 'job-8',
      runId: 'run-8',
      argv: [anyonesPython, join(REPO_ROOT, 'examples', 'training', 'train.py'), '--epochs', '1', '--steps-per-epoch', '2', '--step-delay', '0'],
      baseEnv: { PATH: process.env.PATH, PYTHONDONTWRITEBYTECODE: '1' },
      gpuUuids: [],
      outputDir,
      workingDir: outputDir,
      user,
      onLine: reader.onLine,
    });
    expect(await job.exited).toMatchObject({ outcome: 'SUCCEEDED' });
    const { artifacts } = await collectOutputs({ outputDir, store: new ArtifactStore(join(dir(), 'store')), declared: reader.declaredArtifacts });
    expect(artifacts.map((a) => a.name)).toEqual(['model']);
    expect((await stat(join(outputDir, 'model.json'))).uid).toBe(user?.uid);
  });

  it('runs the same outside the platform: output_dir() is ./outputs of the working directory', async () => {
    const lines: OutputLine[] = [];
    const { execFileSync } = await import('node:child_process');
    const stdout = execFileSync(python as string, [join(REPO_ROOT, 'examples', 'training', 'train.py'), '--epochs', '1', '--steps-per-epoch', '2', '--step-delay', '0'], {
      cwd: dir(),
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PYTHONDONTWRITEBYTECODE: '1' },
    }).toString();
    stdout.split('\n').forEach((text, seq) => lines.push({ stream: 'stdout', seq, time: new Date().toISOString(), text, truncated: false }));
    const reader = new JobOutputReader({ metrics: { add: () => undefined } });
    lines.forEach(reader.onLine);
    expect(reader.declaredArtifacts.map((a) => a.path)).toEqual([join(dir(), 'outputs', 'model.json')]);
    expect(reader.counts.warnings).toBe(0);
  });
});
