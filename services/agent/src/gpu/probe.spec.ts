import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FIXTURES, killQuietly, NODE, tempDirs, waitFor } from '../../test/helpers';
import { metricsRegistry } from '@modeltrail/observability';
import { processAlive } from '../process/procfs';
import { csvNumber, parseComputeApps, parseGpuRows } from './nvidia-smi';
import { offerableGpus, probeGpus, sampleGpus, startGpuSampler } from './probe';

const dir = tempDirs('gpu');

/** The agent's environment with the fixture's directory first on PATH. */
function envWith(fixture: string, extra: Record<string, string> = {}): Record<string, string | undefined> {
  const fixtureDir = join(FIXTURES, 'nvidia-smi', fixture);
  expect(existsSync(join(fixtureDir, 'nvidia-smi'))).toBe(true);
  return { ...process.env, PATH: `${fixtureDir}:${process.env.PATH ?? '/usr/bin:/bin'}`, ...extra };
}

describe('probeGpus', () => {
  it('reads two idle H100 80 GB, both offered', async () => {
    const probe = await probeGpus({ env: envWith('h100-2x80gb') });
    expect(probe).toEqual({
      status: 'OK',
      message: '',
      gpus: [
        {
          index: 0,
          uuid: 'GPU-5d0c1b2a-7f3e-4a51-9c1d-2b8e6f4a0001',
          name: 'NVIDIA H100 80GB HBM3',
          memoryMb: 81559,
          memoryUsedMb: 0,
          utilizationPct: 0,
          status: 'AVAILABLE',
          externalPids: [],
        },
        {
          index: 1,
          uuid: 'GPU-5d0c1b2a-7f3e-4a51-9c1d-2b8e6f4a0002',
          name: 'NVIDIA H100 80GB HBM3',
          memoryMb: 81559,
          memoryUsedMb: 1,
          utilizationPct: 0,
          status: 'AVAILABLE',
          externalPids: [],
        },
      ],
    });
    expect(offerableGpus(probe)).toHaveLength(2);
  });

  it('sets the GPU gauges of /metrics from each probe', async () => {
    await probeGpus({ env: envWith('v100-4x16gb') });
    const text = await metricsRegistry.metrics();
    expect(text).toMatch(/^modeltrail_agent_gpus\{status="AVAILABLE"\} 4$/m);
    expect(text).toMatch(/^modeltrail_agent_gpu_utilization_ratio\{gpu="1"\} 0.37$/m);
    expect(text).toMatch(/^modeltrail_agent_gpu_memory_used_bytes\{gpu="3"\} 16642998272$/m);
    expect(text).toMatch(/^modeltrail_agent_gpu_memory_total_bytes\{gpu="0"\} 16944988160$/m);
    // No nvidia-smi: no GPU, the gauges say so.
    await probeGpus({ env: { ...process.env, PATH: '/nonexistent' } });
    const none = await metricsRegistry.metrics();
    expect(none).toMatch(/^modeltrail_agent_gpus\{status="AVAILABLE"\} 0$/m);
    expect(none).not.toMatch(/^modeltrail_agent_gpu_memory_total_bytes\{/m);
  });

  it('reads four V100 16 GB with their memory use and utilisation', async () => {
    const probe = await probeGpus({ env: envWith('v100-4x16gb') });
    expect(probe.status).toBe('OK');
    expect(probe.gpus.map((g) => [g.index, g.name, g.memoryMb, g.memoryUsedMb, g.utilizationPct, g.status])).toEqual([
      [0, 'Tesla V100-SXM2-16GB', 16160, 0, 0, 'AVAILABLE'],
      [1, 'Tesla V100-SXM2-16GB', 16160, 1024, 37, 'AVAILABLE'],
      [2, 'Tesla V100-SXM2-16GB', 16160, 4, 0, 'AVAILABLE'],
      [3, 'Tesla V100-SXM2-16GB', 16160, 15872, 100, 'AVAILABLE'],
    ]);
  });

  it('kills an nvidia-smi that hangs (its whole group) and reports TIMEOUT within the limit', async () => {
    const pidFile = join(dir(), 'pids');
    const started = Date.now();
    const probe = await probeGpus({ env: envWith('hang', { FAKE_NVIDIA_SMI_PIDS: pidFile }), timeoutMs: 300 });
    const elapsed = Date.now() - started;
    expect(probe.status).toBe('TIMEOUT');
    expect(probe.message).toMatch(/did not answer within 300 ms: killed/);
    expect(probe.gpus).toEqual([]);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2_000);
    // Both queries ran; each was a shell waiting on a child: all four are gone.
    const pids = (await readFile(pidFile, 'utf8')).split(/\s+/).filter(Boolean).map(Number);
    expect(pids).toHaveLength(4);
    try {
      expect(pids.map(processAlive)).toEqual([false, false, false, false]);
    } finally {
      killQuietly(pids);
    }
  });

  it('reports ERROR with what nvidia-smi said when it fails', async () => {
    const probe = await probeGpus({ env: envWith('error') });
    expect(probe).toEqual({
      status: 'ERROR',
      message: "nvidia-smi failed (exit code 9): NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.",
      gpus: [],
    });
  });

  it('reports ABSENT when nvidia-smi is not on PATH', async () => {
    const probe = await probeGpus({ env: { PATH: dir() } });
    expect(probe).toEqual({ status: 'ABSENT', message: expect.stringMatching(/not on PATH/), gpus: [] });
  });

  it('reads [N/A] and [Not Supported] as no number; a GPU in MIG mode makes MIG_PARTIAL, and the GPUs are still offered', async () => {
    const probe = await probeGpus({ env: envWith('mig') });
    expect(probe.status).toBe('MIG_PARTIAL');
    expect(probe.message).toMatch(/GPU 0 reports utilisation as \[N\/A\], as GPUs in MIG mode do/);
    expect(probe.gpus.map((g) => [g.index, g.memoryMb, g.memoryUsedMb, g.utilizationPct, g.status])).toEqual([
      [0, 81920, 13, null, 'AVAILABLE'],
      [1, 81920, null, 4, 'AVAILABLE'],
    ]);
  });

  it("marks a GPU that runs a process which is not the agent's BUSY_EXTERNAL; a job's grandchild counts as the job's", async () => {
    // The "job": a process the test owns, which starts a grandchild; nvidia-smi shows the grandchild on GPU 0.
    const job = spawn(NODE, ['-e', "const c = require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000);"], {
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let output = '';
    job.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const grandchild = Number(await waitFor(() => output.trim(), 'the grandchild pid'));
    try {
      const env = envWith('foreign-process', { FAKE_OWNED_PID: String(grandchild) });
      const probe = await probeGpus({ env, ownedPids: [job.pid as number] });
      expect(probe.status).toBe('OK');
      expect(probe.gpus.map((g) => [g.index, g.status, g.externalPids])).toEqual([
        [0, 'AVAILABLE', []],
        [1, 'BUSY_EXTERNAL', [1]],
      ]);
      expect(probe.message).toMatch(/GPU 1 runs processes that are not the agent's \(pids 1\)/);
      expect(offerableGpus(probe).map((g) => g.index)).toEqual([0]);

      // Without the job among the owned pids, both GPUs are busy with foreign processes.
      const stranger = await probeGpus({ env, ownedPids: [] });
      expect(stranger.gpus.map((g) => g.status)).toEqual(['BUSY_EXTERNAL', 'BUSY_EXTERNAL']);
    } finally {
      killQuietly([grandchild, job.pid as number]);
    }
  });

  it('offers no GPU when the process list cannot be read: the GPUs are UNKNOWN and the probe an ERROR', async () => {
    const script = join(dir(), 'nvidia-smi');
    await writeFile(script, '#!/bin/sh\ncase "$*" in *--query-gpu=*) echo "0, GPU-x1, Some GPU, 1000, 0, 0";; *) echo "Failed to query processes" >&2; exit 15;; esac\n', { mode: 0o755 });
    const probe = await probeGpus({ env: { PATH: `${dir()}:/usr/bin:/bin` } });
    expect(probe.status).toBe('ERROR');
    expect(probe.message).toMatch(/processes could not be listed, so no GPU is offered: nvidia-smi failed \(exit code 15\): Failed to query processes/);
    expect(probe.gpus.map((g) => g.status)).toEqual(['UNKNOWN']);
    expect(offerableGpus(probe)).toEqual([]);
  });
});

describe('sampleGpus', () => {
  it("keys a job's GPUs by their position in its CUDA_VISIBLE_DEVICES, and leaves values nvidia-smi did not give out", async () => {
    const sample = await sampleGpus({ env: envWith('v100-4x16gb'), uuids: ['GPU-0a1b2c3d-0000-4000-8000-000000000003', 'GPU-0a1b2c3d-0000-4000-8000-000000000001'] });
    expect(sample).toEqual({
      status: 'OK',
      message: '',
      points: [
        { key: 'system/gpu.0.utilization', value: 100 },
        { key: 'system/gpu.0.memory_used_mb', value: 15872 },
        { key: 'system/gpu.1.utilization', value: 37 },
        { key: 'system/gpu.1.memory_used_mb', value: 1024 },
      ],
    });
    const mig = await sampleGpus({ env: envWith('mig') });
    expect(mig.points).toEqual([
      { key: 'system/gpu.0.memory_used_mb', value: 13 },
      { key: 'system/gpu.1.utilization', value: 4 },
    ]);
    expect((await sampleGpus({ env: envWith('mig'), uuids: ['GPU-gone'] })).message).toMatch(/does not list GPU-gone/);
  });

  it('samples periodically as metric points with increasing steps until stopped', async () => {
    const batches: Array<Array<{ key: string; value: number; step?: number; timestamp?: string }>> = [];
    const sampler = startGpuSampler({ env: envWith('h100-2x80gb'), intervalMs: 20, onPoints: (points) => batches.push(points) });
    await waitFor(() => batches.length >= 3, 'three samples');
    await sampler.stop();
    const count = batches.length;
    expect(batches.slice(0, 3).map((b) => b.map((p) => p.step))).toEqual([
      [0, 0, 0, 0],
      [1, 1, 1, 1],
      [2, 2, 2, 2],
    ]);
    expect(batches[0].map((p) => p.key)).toEqual(['system/gpu.0.utilization', 'system/gpu.0.memory_used_mb', 'system/gpu.1.utilization', 'system/gpu.1.memory_used_mb']);
    expect(Number.isNaN(Date.parse(batches[0][0].timestamp as string))).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(batches.length).toBe(count);
  });

  it('reports the sample in progress when stopped: a job shorter than one nvidia-smi call still has its sample', async () => {
    const batches: Array<Array<{ key: string; step?: number }>> = [];
    const sampler = startGpuSampler({ env: envWith('h100-2x80gb'), intervalMs: 60_000, onPoints: (points) => batches.push(points) });
    // The first sample starts at once and is still running (nvidia-smi is a process) when the job ends.
    await sampler.stop();
    expect(batches).toHaveLength(1);
    expect(batches[0].map((p) => p.step)).toEqual([0, 0, 0, 0]);
  });
});

describe('nvidia-smi CSV', () => {
  it('reads numbers only as numbers', () => {
    expect(['12', '12.5', ' 7 ', '[N/A]', '[Not Supported]', '[Unknown Error]', '', 'N/A', '-1'].map(csvNumber)).toEqual([12, 12.5, 7, null, null, null, null, null, null]);
  });

  it('keeps a GPU name with a comma in it, and names unreadable lines', () => {
    const { rows, problems } = parseGpuRows('0, GPU-abc, Some GPU, Rev. 2, 1000, 10, 5\nrubbish\nx, GPU-d, n, 1, 1, 1\n');
    expect(rows.map((r) => r.name)).toEqual(['Some GPU, Rev. 2']);
    expect(problems).toHaveLength(2);
    expect(parseComputeApps('No running processes found\nGPU-a, 12, 100\nGPU-b, nope, 1\n')).toEqual({
      rows: [{ gpuUuid: 'GPU-a', pid: 12, usedMemoryMb: 100 }],
      problems: ['expected "<gpu uuid>, <pid>, <used memory>", got "GPU-b, nope, 1"'],
    });
  });
});
