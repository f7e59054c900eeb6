import { ConflictError, deploymentStream, type ModelVersionView, NotFoundError, type TypedEvent, ValidationError } from '@modeltrail/contracts';
import type { Decider } from '@modeltrail/decider';

/**
 * The Deployment aggregate (stream `deployment-<deploymentId>`): a model version served in an
 * environment, with the reference its monitor compares batches with. The reference is built
 * and stored by the service (reading the training data is I/O); the deployment records it with
 * the deployment itself, in one append, so a deployment never exists without its reference.
 */

type ReferenceData = TypedEvent<'monitoring.ReferenceProfileSet.v1'>['data'];

/** What a deployment needs of the version it deploys (from the registry). */
export type DeployedVersion = Pick<ModelVersionView, 'modelVersionId' | 'modelId' | 'version' | 'projectId' | 'experimentId' | 'runId' | 'status'>;

export type DeploymentCommand = {
  type: 'DeployModel';
  deploymentId: string;
  monitorId: string;
  /** Null when the registry does not know the version. */
  version: DeployedVersion | null;
  modelVersionId: string;
  environment: string;
  endpoint: string;
  reference: Omit<ReferenceData, 'deploymentId' | 'setAt'>;
  at: string;
};

export type DeploymentEvent = TypedEvent<'monitoring.ModelDeployed.v1' | 'monitoring.ReferenceProfileSet.v1'>;

export type DeploymentState =
  | { status: 'None' }
  | { status: 'Deployed'; deploymentId: string; modelVersionId: string; environment: string; endpoint: string; referenceDigest: string | null };

export { deploymentStream };

/** Refuses a version that cannot be deployed: unknown (NOT_FOUND) or archived (CONFLICT). Checked before the training data is read, and again by the decider. */
export function checkDeployable<V extends DeployedVersion>(modelVersionId: string, version: V | null): V {
  if (!version) throw new NotFoundError(`model version ${modelVersionId} does not exist`, { modelVersionId });
  if (version.status === 'ARCHIVED') throw new ConflictError(`model version ${modelVersionId} (version ${version.version}) is archived: an archived version cannot be deployed`, { modelVersionId });
  return version;
}

export const deploymentDecider: Decider<DeploymentCommand, DeploymentEvent, DeploymentState> = {
  initialState: () => ({ status: 'None' }),

  decide(command, state) {
    if (state.status === 'Deployed') {
      const same = state.modelVersionId === command.modelVersionId && state.environment === command.environment && state.endpoint === command.endpoint;
      if (same) return [];
      throw new ConflictError(`deployment ${command.deploymentId} already exists (model version ${state.modelVersionId} in ${state.environment})`, { deploymentId: command.deploymentId });
    }
    const version = checkDeployable(command.modelVersionId, command.version);
    if (command.reference.features.length === 0) throw new ValidationError('a deployment needs at least one feature to monitor', { field: 'features' });
    return [
      {
        type: 'monitoring.ModelDeployed.v1',
        data: {
          deploymentId: command.deploymentId,
          monitorId: command.monitorId,
          modelId: version.modelId,
          modelVersionId: version.modelVersionId,
          version: version.version,
          projectId: version.projectId,
          experimentId: version.experimentId,
          runId: version.runId,
          environment: command.environment,
          endpoint: command.endpoint,
          deployedAt: command.at,
        },
      },
      { type: 'monitoring.ReferenceProfileSet.v1', data: { deploymentId: command.deploymentId, ...command.reference, setAt: command.at } },
    ];
  },

  evolve(state, event) {
    switch (event.type) {
      case 'monitoring.ModelDeployed.v1': {
        const d = event.data;
        return { status: 'Deployed', deploymentId: d.deploymentId, modelVersionId: d.modelVersionId, environment: d.environment, endpoint: d.endpoint, referenceDigest: null };
      }
      case 'monitoring.ReferenceProfileSet.v1':
        return state.status === 'Deployed' ? { ...state, referenceDigest: event.data.digest } : state;
      default: {
        const unknown: never = event;
        throw new Error(`unknown deployment event ${JSON.stringify(unknown)}`);
      }
    }
  },
};
