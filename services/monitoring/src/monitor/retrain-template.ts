import { checkWorkingDir, type JobView, type Params, type RetrainTemplate, type z, type RetrainJobInput } from '@modeltrail/contracts';

/**
 * The retraining job a monitor keeps, from a job given with configureMonitor: its experiment
 * (the deployed version's when not given) and params (the version's run's when not given). The
 * working directory must lie under the installation's allowed roots, as for any job.
 */
export function configuredTemplate(input: z.output<typeof RetrainJobInput>, deployed: { experimentId: string; params: Params }, workingDirRoots: ReadonlyArray<string>): RetrainTemplate {
  return {
    source: 'CONFIGURED',
    sourceJobId: null,
    experimentId: input.experimentId ?? deployed.experimentId,
    command: input.command,
    env: input.env,
    workingDir: input.workingDir === null ? null : checkWorkingDir(input.workingDir, workingDirRoots),
    resources: input.resources,
    priority: input.priority,
    maxRetries: input.maxRetries,
    timeoutSeconds: input.timeoutSeconds,
    cancelGraceSeconds: input.cancelGraceSeconds,
    params: input.params ?? deployed.params,
  };
}

/** The retraining job copied from the scheduler job that trained the deployed version's run, with that run's params. */
export function trainingJobTemplate(job: JobView, params: Params): RetrainTemplate {
  return {
    source: 'TRAINING_JOB',
    sourceJobId: job.jobId,
    experimentId: job.experimentId,
    command: job.command,
    env: job.env,
    workingDir: job.workingDir,
    resources: job.resources,
    priority: job.priority,
    maxRetries: job.maxRetries,
    timeoutSeconds: job.timeoutSeconds,
    cancelGraceSeconds: job.cancelGraceSeconds,
    params,
  };
}
