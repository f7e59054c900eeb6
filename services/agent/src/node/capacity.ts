import { cpus as osCpus, totalmem } from 'node:os';
import type { AgentGpu, GpuProbe as GpuProbeReport } from '@modeltrail/contracts';
import { probeGpus, type GpuProbe } from '../gpu/probe';

/**
 * What an agent offers the scheduler: its GPUs as nvidia-smi lists them (each with its status:
 * only AVAILABLE ones are placed on), its CPUs and memory (configured, or what the machine
 * has), and how the GPU probe went. A probe that fails (TIMEOUT, ERROR) or finds no nvidia-smi
 * (ABSENT) registers the node with no GPUs; the probe's status and message travel with the
 * registration, so the scheduler's view of the agent says why it has none.
 */

export interface AgentCapacity {
  gpus: AgentGpu[];
  cpus: number;
  memoryMb: number;
  gpuProbe: GpuProbeReport;
}

export interface DetectCapacityOptions {
  /** nvidia-smi to run (config.agent.nvidiaSmi) and its time limit (config.agent.nvidiaSmiTimeoutMs). */
  nvidiaSmi?: string;
  nvidiaSmiTimeoutMs?: number;
  /** Environment nvidia-smi runs with (its PATH is searched). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Configured CPUs and memory (config.agent.cpus / memoryMb); by default what the machine has. */
  cpus?: number;
  memoryMb?: number;
  /** Pids of jobs this agent runs (their GPUs are not someone else's). */
  ownedPids?: Iterable<number>;
}

export async function detectCapacity(options: DetectCapacityOptions = {}): Promise<AgentCapacity> {
  let probe: GpuProbe;
  try {
    probe = await probeGpus({ program: options.nvidiaSmi, timeoutMs: options.nvidiaSmiTimeoutMs, env: options.env, ownedPids: options.ownedPids });
  } catch (error) {
    probe = { status: 'ERROR', message: `the GPU probe failed: ${error instanceof Error ? error.message : String(error)}`, gpus: [] };
  }
  return {
    gpus: probe.gpus.map((gpu) => ({ index: gpu.index, uuid: gpu.uuid, name: gpu.name, memoryMb: Math.floor(gpu.memoryMb), status: gpu.status })),
    cpus: options.cpus ?? Math.max(1, osCpus().length),
    memoryMb: options.memoryMb ?? Math.max(1, Math.floor(totalmem() / (1024 * 1024))),
    gpuProbe: { status: probe.status, message: probe.message },
  };
}

/**
 * The line an agent prints at start:
 *   agent: <id> on <host> offering 2 GPUs (NVIDIA H100 80GB HBM3, NVIDIA H100 80GB HBM3): OK
 *   agent: <id> on <host> CPU-only (16 CPUs, 64000 MB): TIMEOUT: nvidia-smi did not answer within 5000 ms: ...
 */
export function describeCapacity(agentId: string, hostname: string, capacity: AgentCapacity): string {
  const offered = capacity.gpus.filter((gpu) => gpu.status === 'AVAILABLE');
  const what =
    offered.length > 0
      ? `offering ${offered.length} GPU${offered.length === 1 ? '' : 's'} (${offered.map((g) => g.name || g.uuid).join(', ')})`
      : `CPU-only (${capacity.cpus} CPUs, ${capacity.memoryMb} MB)`;
  const probe = capacity.gpuProbe.message ? `${capacity.gpuProbe.status}: ${capacity.gpuProbe.message}` : capacity.gpuProbe.status;
  return `agent: ${agentId} on ${hostname} ${what}: ${probe}`;
}
