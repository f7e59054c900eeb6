import { ConflictError, type JobDatasetVersion, type MessageHeaders, type Params, type z } from '@modeltrail/contracts';
import type { ExperimentsClient } from '../experiments.client';

export interface JobRunSpec {
  jobId: string;
  runId: string;
  experimentId: string;
  params: Params;
  datasetVersions: Array<z.output<typeof JobDatasetVersion>>;
  /** The sweep the job is a trial of, tagged on the run too. */
  sweepId: string | null;
}

/** The tag that marks the run a job started (`job:<jobId>`). */
export const jobTag = (jobId: string) => `job:${jobId}`;

/**
 * Starts the run a job trains into, through the experiments service, under a command id derived
 * from the job: whichever path queues the job (SubmitJob, a retry of it, the sweep reactor),
 * the run is started once. A run that exists already and carries the job's tag is that run.
 */
export async function startJobRun(experiments: ExperimentsClient, spec: JobRunSpec, headers: MessageHeaders): Promise<{ runId: string; projectId: string }> {
  const tags = [jobTag(spec.jobId), ...(spec.sweepId ? [`sweep:${spec.sweepId}`] : [])];
  try {
    const run = await experiments.startRun(
      { runId: spec.runId, experimentId: spec.experimentId, params: spec.params, datasetVersions: spec.datasetVersions, tags },
      { actor: headers.actor, correlationId: headers.correlationId, causationId: headers.causationId, commandId: `job-run:${spec.jobId}` },
    );
    return { runId: run.runId, projectId: run.projectId };
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    const { items } = await experiments.getRuns({ runIds: [spec.runId] }, headers);
    const run = items.find((r) => r.runId === spec.runId);
    if (run && run.experimentId === spec.experimentId && run.tags.includes(jobTag(spec.jobId))) return { runId: run.runId, projectId: run.projectId };
    throw error;
  }
}
