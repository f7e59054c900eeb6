import { PROTOCOL_VERSION } from '../protocol/parser';

/**
 * The environment a job's process gets, in three layers, later ones winning:
 *
 * 1. the agent's base environment for jobs (from its configuration: PATH, HOME, LANG, ...), plus
 *    `PYTHONUNBUFFERED=1` so that a Python script's plain prints arrive line by line;
 * 2. the job's own environment (from the job's definition);
 * 3. what the platform sets, which neither layer can set or override (a value they give for one
 *    of these names is dropped):
 *    `CUDA_VISIBLE_DEVICES` (the assigned GPUs' UUIDs, comma-joined; empty with no GPUs, so a
 *    CPU job sees none), `MODELTRAIL_RUN_ID`, `MODELTRAIL_JOB_ID`, `MODELTRAIL_OUTPUT_DIR`,
 *    `MODELTRAIL_PROTOCOL` (the JSON-lines protocol version) and, when given,
 *    `MODELTRAIL_TELEMETRY_SUBJECT`.
 */

/** Variables the platform sets for every job (the telemetry subject only when there is one). */
export const PLATFORM_ENV_KEYS = [
  'CUDA_VISIBLE_DEVICES',
  'MODELTRAIL_RUN_ID',
  'MODELTRAIL_JOB_ID',
  'MODELTRAIL_OUTPUT_DIR',
  'MODELTRAIL_PROTOCOL',
  'MODELTRAIL_TELEMETRY_SUBJECT',
] as const;

export interface JobEnvInput {
  baseEnv?: Readonly<Record<string, string | undefined>>;
  jobEnv?: Readonly<Record<string, string>>;
  runId: string;
  jobId: string;
  outputDir: string;
  gpuUuids: readonly string[];
  telemetrySubject?: string | null;
}

export interface JobEnv {
  env: Record<string, string>;
  /** Names the job's environment set but the platform overrode (worth a warning in the run's log). */
  overridden: string[];
}

const NAME = /^[^=\0]+$/;

export function buildJobEnv(input: JobEnvInput): JobEnv {
  const env: Record<string, string> = { PYTHONUNBUFFERED: '1' };
  for (const [key, value] of Object.entries(input.baseEnv ?? {})) {
    if (value !== undefined) env[checkName(key, 'the base environment')] = checkValue(key, value, 'the base environment');
  }
  for (const [key, value] of Object.entries(input.jobEnv ?? {})) {
    env[checkName(key, "the job's environment")] = checkValue(key, value, "the job's environment");
  }
  for (const uuid of input.gpuUuids) {
    if (!/^[A-Za-z0-9-]+$/.test(uuid)) throw new Error(`GPU UUID ${JSON.stringify(uuid)} is not one (letters, digits and dashes)`);
  }
  const platform: Record<string, string> = {
    CUDA_VISIBLE_DEVICES: input.gpuUuids.join(','),
    MODELTRAIL_RUN_ID: input.runId,
    MODELTRAIL_JOB_ID: input.jobId,
    MODELTRAIL_OUTPUT_DIR: input.outputDir,
    MODELTRAIL_PROTOCOL: String(PROTOCOL_VERSION),
  };
  if (input.telemetrySubject) platform.MODELTRAIL_TELEMETRY_SUBJECT = input.telemetrySubject;
  const overridden = PLATFORM_ENV_KEYS.filter((key) => input.jobEnv !== undefined && Object.prototype.hasOwnProperty.call(input.jobEnv, key));
  // Reserved whether or not the platform sets them this time (a job with no telemetry subject gets none, not its own).
  for (const key of PLATFORM_ENV_KEYS) delete env[key];
  for (const [key, value] of Object.entries(platform)) env[key] = checkValue(key, value, 'the platform');
  return { env, overridden: [...overridden] };
}

function checkName(key: string, where: string): string {
  if (!NAME.test(key)) throw new Error(`environment variable name ${JSON.stringify(key)} in ${where} must be non-empty and hold no "=" or NUL character`);
  return key;
}

function checkValue(key: string, value: string, where: string): string {
  if (typeof value !== 'string') throw new Error(`environment variable ${key} in ${where} must be a string`);
  if (value.includes('\0')) throw new Error(`environment variable ${key} in ${where} must not hold a NUL character`);
  return value;
}
