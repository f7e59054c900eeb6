import type { RpcDefinition } from './rpc';
import { SweepJobTemplate } from './scheduler';
import { uuid as uuidSchema, z } from './schema';

/**
 * Contracts of the `monitoring` context: deployments with their frozen reference, monitors,
 * drift and performance measurements, alerts and retraining requests.
 */

const uuid = uuidSchema();

export const RETRAIN_POLICIES = ['OFF', 'APPROVAL', 'AUTO'] as const;
export const RetrainPolicy = z.enum(RETRAIN_POLICIES, { message: `must be one of ${RETRAIN_POLICIES.join(', ')}` });
export type RetrainPolicy = z.output<typeof RetrainPolicy>;

/**
 * The training job a retraining queues: the model's retraining template with each training
 * dataset version replaced by the newest version of its dataset. The scheduler queues it as
 * `jobId` (so a redelivered request queues one job), in a new run of `experimentId`.
 */
export const RetrainJob = SweepJobTemplate.extend({ jobId: uuid, experimentId: uuid });
export type RetrainJob = z.output<typeof RetrainJob>;

/** One training dataset of the retrained model and the version the retraining uses instead. */
export const RetrainDatasetChange = z.object({
  datasetId: uuid,
  /** The version the deployed model was trained on. */
  fromDatasetVersionId: uuid,
  /** The newest version of the dataset when the retraining was requested (may be the same). */
  toDatasetVersionId: uuid,
});
export type RetrainDatasetChange = z.output<typeof RetrainDatasetChange>;

/**
 * A retraining is requested: by the monitor's AUTO policy (caused by the alert), or by a person
 * approving a proposed retraining (APPROVAL policy). The scheduler reacts by queueing `job`,
 * with this event as the job's causation.
 */
export const RetrainRequestedV1 = z.object({
  retrainId: uuid,
  monitorId: uuid,
  deploymentId: uuid,
  modelId: uuid,
  modelVersionId: uuid,
  /** The alert that led to it. */
  alertId: uuid.nullable(),
  policy: RetrainPolicy,
  job: RetrainJob,
  datasetChanges: z.array(RetrainDatasetChange),
  requestedAt: z.iso.datetime(),
});
export type RetrainRequestedV1 = z.output<typeof RetrainRequestedV1>;

export const monitoringEvents = {
  'monitoring.RetrainRequested.v1': RetrainRequestedV1,
} as const satisfies Record<string, z.ZodType>;

export const monitoringRpc: Record<string, RpcDefinition> = {};
