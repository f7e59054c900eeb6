import { jobRunId, type MessageHeaders, type SubmitJobRequest } from '@modeltrail/contracts';
import { commandContextOf, type HandleResult } from '@modeltrail/decider';
import type { ExperimentsClient } from '../experiments.client';
import { requestedJobSpec } from './job-spec';
import type { JobCommands } from './job.commands';
import type { JobCommand, JobRun, JobState } from './job.decider';
import { startJobRun } from './job-run';

/** What queuing a job needs: the job command loop, the experiments service and the allowed working directories. */
export interface JobSubmitter {
  jobs: JobCommands;
  experiments: ExperimentsClient;
  workingDirRoots: ReadonlyArray<string>;
}

/**
 * Queues job `jobId` as SubmitJob asks (the one path for a person's submit and a retraining's
 * job). The working directory is checked first, then the run: an existing one must be running
 * (asked of the experiments service); for a new one the experiments service starts run
 * `jobRunId(jobId)` before the job is queued, so an unknown experiment or dataset version is
 * its NOT_FOUND and nothing is appended. A repeat under the same command id changes nothing;
 * any other submit of an id that exists is refused by the decider (CONFLICT).
 */
export async function submitJob(submitter: JobSubmitter, jobId: string, req: SubmitJobRequest, headers: MessageHeaders, at: string): Promise<HandleResult<JobState>> {
  const { jobs, experiments } = submitter;
  const spec = requestedJobSpec(req, submitter.workingDirRoots);
  const existing = await jobs.load(jobId);
  let run: JobRun;
  if (existing.state.status !== 'None') {
    // A retry of this submit returns the job; any other submit of the id is refused by the decider.
    run = { kind: 'EXISTING', runId: existing.state.runId, found: null };
  } else if (req.runId !== undefined) {
    const { items } = await experiments.getRuns({ runIds: [req.runId] }, headers);
    const found = items.find((r) => r.runId === req.runId);
    run = { kind: 'EXISTING', runId: req.runId, found: found ? { experimentId: found.experimentId, projectId: found.projectId, status: found.status } : null };
  } else {
    const runId = jobRunId(jobId);
    const started = await startJobRun(experiments, { jobId, runId, experimentId: req.experimentId!, params: req.params, datasetVersions: req.datasetVersions, sweepId: null }, headers);
    run = { kind: 'NEW', runId, experimentId: req.experimentId!, experiment: { projectId: started.projectId }, params: req.params, datasetVersions: req.datasetVersions };
  }
  const command: JobCommand = { type: 'SubmitJob', jobId, run, ...spec, sweep: null, at };
  return jobs.handle(jobId, command, commandContextOf(headers));
}
