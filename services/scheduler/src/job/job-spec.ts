import { checkWorkingDir, type SubmitJobRequest } from '@modeltrail/contracts';

/** What a job runs and with what, as a job's submit and a sweep's (for every trial) ask for it. */
export type RequestedJobSpec = Pick<SubmitJobRequest, 'command' | 'env' | 'workingDir' | 'resources' | 'priority' | 'maxRetries' | 'timeoutSeconds' | 'cancelGraceSeconds'>;

/** The job spec of a submit, its working directory checked against the installation's allowed roots (a ValidationError naming them). */
export function requestedJobSpec(req: RequestedJobSpec, workingDirRoots: ReadonlyArray<string>): RequestedJobSpec {
  return {
    command: req.command,
    env: req.env,
    workingDir: req.workingDir === null ? null : checkWorkingDir(req.workingDir, workingDirRoots),
    resources: req.resources,
    priority: req.priority,
    maxRetries: req.maxRetries,
    timeoutSeconds: req.timeoutSeconds,
    cancelGraceSeconds: req.cancelGraceSeconds,
  };
}
