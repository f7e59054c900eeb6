import {
  ConflictError,
  type MetricSummary,
  type ModelArtifact,
  type ModelCard,
  type ModelSignature,
  modelVersionStream,
  NotFoundError,
  type RunDatasetVersion,
  type RunStatus,
  type TypedEvent,
  ValidationError,
  type CodeRef,
} from '@modeltrail/contracts';
import type { Decider } from '@modeltrail/decider';

/**
 * The ModelVersion aggregate (stream `model-version-<uuid>`, the id derived from the model and
 * the version's number): a snapshot of a completed run (its artifact with digest, metrics
 * summary, params, code and dataset versions) with the model's signature and card. The number
 * is unique because the stream is: two creations that picked the same number meet on one
 * stream, and the second is refused (VERSION_TAKEN) and tries the next number.
 *
 * Its archiving and aliases are decided on the model's stream (see model.decider.ts).
 */

/** The source run as the experiments service reports it. */
export interface RunFacts {
  runId: string;
  experimentId: string;
  projectId: string;
  status: RunStatus;
  params: Record<string, string | number | boolean>;
  codeRef: CodeRef | null;
  datasetVersions: RunDatasetVersion[];
  summary: MetricSummary[] | null;
}

export type ModelVersionCommand =
  | {
      type: 'CreateModelVersion';
      modelVersionId: string;
      version: number;
      modelId: string;
      /** The model, or null when it does not exist. */
      model: { modelId: string; projectId: string; name: string } | null;
      runId: string;
      /** The run, or null when it does not exist. */
      run: RunFacts | null;
      /** The artifacts the run logged (name, uri, digest, size). */
      artifacts: ReadonlyArray<ModelArtifact>;
      artifactName: string;
      signature: ModelSignature;
      modelCard: ModelCard;
      at: string;
    }
  | { type: 'UpdateModelCard'; modelVersionId: string; modelCard: ModelCard; at: string };

export type ModelVersionEvent = TypedEvent<'registry.ModelVersionCreated.v1' | 'registry.ModelCardUpdated.v1'>;

export type ModelVersionState =
  | { status: 'None' }
  | { status: 'Created'; modelVersionId: string; modelId: string; version: number; runId: string; artifactName: string; modelCard: ModelCard };

/** Why a creation was refused because its number was taken in between (the handler tries the next one). */
export const VERSION_TAKEN = 'VERSION_TAKEN';

export { modelVersionStream };

export const modelVersionDecider: Decider<ModelVersionCommand, ModelVersionEvent, ModelVersionState> = {
  initialState: () => ({ status: 'None' }),

  decide(command, state) {
    switch (command.type) {
      case 'CreateModelVersion': {
        if (state.status === 'Created') {
          throw new ConflictError(`version ${state.version} of model ${state.modelId} already exists`, { reason: VERSION_TAKEN, modelVersionId: state.modelVersionId });
        }
        const { model, run } = command;
        if (!model) throw new NotFoundError(`model ${command.modelId} does not exist`, { modelId: command.modelId });
        if (!run) throw new NotFoundError(`run ${command.runId} does not exist`, { runId: command.runId });
        if (run.projectId !== model.projectId) {
          throw new ValidationError(`run ${run.runId} belongs to project ${run.projectId}, not to project ${model.projectId} of model "${model.name}"`, {
            issues: [{ field: 'runId', message: `must be a run of project ${model.projectId}` }],
          });
        }
        if (run.status !== 'Completed') {
          throw new ConflictError(`run ${run.runId} is ${run.status}: a model version is created from a completed run only`, { runId: run.runId, status: run.status });
        }
        const artifact = command.artifacts.find((a) => a.name === command.artifactName);
        if (!artifact) {
          const names = command.artifacts.map((a) => `"${a.name}"`);
          throw new ValidationError(
            `run ${run.runId} has no artifact named "${command.artifactName}"; ${names.length ? `it has ${names.join(', ')}` : 'it logged no artifacts'}`,
            { issues: [{ field: 'artifactName', message: names.length ? `must be one of ${names.join(', ')}` : 'the run logged no artifacts' }] },
          );
        }
        return [
          {
            type: 'registry.ModelVersionCreated.v1',
            data: {
              modelVersionId: command.modelVersionId,
              modelId: model.modelId,
              projectId: model.projectId,
              experimentId: run.experimentId,
              runId: run.runId,
              version: command.version,
              artifact: { name: artifact.name, uri: artifact.uri, digest: artifact.digest, size: artifact.size },
              metrics: run.summary ?? [],
              params: run.params,
              codeRef: run.codeRef,
              datasetVersions: run.datasetVersions,
              signature: command.signature,
              modelCard: command.modelCard,
              createdAt: command.at,
            },
          },
        ];
      }
      case 'UpdateModelCard': {
        if (state.status === 'None') throw new NotFoundError(`model version ${command.modelVersionId} does not exist`, { modelVersionId: command.modelVersionId });
        if (sameCard(state.modelCard, command.modelCard)) return [];
        return [{ type: 'registry.ModelCardUpdated.v1', data: { modelVersionId: state.modelVersionId, modelId: state.modelId, modelCard: command.modelCard, updatedAt: command.at } }];
      }
      default: {
        const unknown: never = command;
        throw new Error(`unknown command ${JSON.stringify(unknown)}`);
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'registry.ModelVersionCreated.v1': {
        const d = event.data;
        return { status: 'Created', modelVersionId: d.modelVersionId, modelId: d.modelId, version: d.version, runId: d.runId, artifactName: d.artifact.name, modelCard: d.modelCard };
      }
      case 'registry.ModelCardUpdated.v1':
        return state.status === 'None' ? state : { ...state, modelCard: event.data.modelCard };
      default: {
        const unknown: never = event;
        throw new Error(`unknown event ${JSON.stringify(unknown)}`);
      }
    }
  },
};

function sameCard(a: ModelCard, b: ModelCard): boolean {
  return a.intendedUse === b.intendedUse && a.limitations === b.limitations && a.evaluationData === b.evaluationData && a.ethicalConsiderations === b.ethicalConsiderations && a.caveats === b.caveats;
}
