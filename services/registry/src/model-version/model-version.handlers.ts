import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { ConflictError, type MessageHeaders, modelStream, modelVersionIdFor, modelVersionStream, type ModelVersionView, registryRpc, type z } from '@modeltrail/contracts';
import { commandContextOf, deterministicEventId } from '@modeltrail/decider';
import { EVENT_STORE, type EventStore } from '@modeltrail/eventstore';
import { RpcHeaders, RpcPattern } from '@modeltrail/messaging';
import { CLOCK, type Clock } from '../clock';
import { RegistryViews } from '../read-model/registry.views';
import { MODEL_COMMANDS, MODEL_VERSION_COMMANDS, type ModelCommands, type ModelVersionCommands } from '../registry.commands';
import { currentRun, SOURCES_CLIENT, type SourcesClient } from '../sources.client';
import { type ModelVersionCommand, type RunFacts, VERSION_TAKEN } from './model-version.decider';

type Req<K extends keyof typeof registryRpc> = z.output<(typeof registryRpc)[K]['request']>;

/** Attempts at a version number when others take the numbers in between. */
const NUMBER_ATTEMPTS = 10;

/** NATS adapters of the ModelVersion aggregate. */
@Controller()
export class ModelVersionHandlers {
  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(MODEL_COMMANDS) private readonly models: ModelCommands,
    @Inject(MODEL_VERSION_COMMANDS) private readonly versions: ModelVersionCommands,
    @Inject(SOURCES_CLIENT) private readonly sources: SourcesClient,
    private readonly views: RegistryViews,
  ) {}

  /**
   * A version from a completed run of the model's project: the next free number, the run's
   * artifact (by name), metrics summary, params, code and dataset versions, read from the
   * experiments service when the command is decided.
   */
  @RpcPattern(registryRpc.createModelVersion)
  async create(@Payload() req: Req<'createModelVersion'>, @RpcHeaders() headers: MessageHeaders): Promise<ModelVersionView> {
    const { state: model } = await this.models.load(modelStream(req.modelId));
    const run = await currentRun(this.sources, this.store, req.runId, headers);
    // Read after the run: a view of the run as of its latest event has every artifact logged before it.
    const { items: artifacts } = run ? await this.sources.listRunArtifacts({ runIds: [req.runId] }, headers) : { items: [] };
    const runFacts: RunFacts | null = run
      ? { runId: run.runId, experimentId: run.experimentId, projectId: run.projectId, status: run.status, params: run.params, codeRef: run.codeRef, datasetVersions: run.datasetVersions, summary: run.summary }
      : null;
    let version = model.status === 'Registered' ? await this.nextFreeVersion(req.modelId, await this.views.reader.latestVersion(req.modelId)) : 1;
    const retried = headers.commandId && version > 1 ? await this.createdBy(headers.commandId, req.modelId, version - 1) : null;
    if (retried) return this.views.version(retried);
    for (let attempt = 1; ; attempt++) {
      const modelVersionId = modelVersionIdFor(req.modelId, version);
      const command: ModelVersionCommand = {
        type: 'CreateModelVersion',
        modelVersionId,
        version,
        modelId: req.modelId,
        model: model.status === 'Registered' ? { modelId: model.modelId, projectId: model.projectId, name: model.name } : null,
        runId: req.runId,
        run: runFacts,
        artifacts: artifacts.filter((a) => a.runId === req.runId),
        artifactName: req.artifactName,
        signature: req.signature,
        modelCard: req.modelCard,
        at: this.clock.now(),
      };
      try {
        const result = await this.versions.handle(modelVersionStream(modelVersionId), command, commandContextOf(headers));
        return await this.views.version(modelVersionId, result.position);
      } catch (error) {
        if (!(error instanceof ConflictError && error.details?.reason === VERSION_TAKEN) || attempt >= NUMBER_ATTEMPTS) throw error;
        version = await this.nextFreeVersion(req.modelId, version);
      }
    }
  }

  @RpcPattern(registryRpc.updateModelCard)
  async updateCard(@Payload() req: Req<'updateModelCard'>, @RpcHeaders() headers: MessageHeaders): Promise<ModelVersionView> {
    const command: ModelVersionCommand = { type: 'UpdateModelCard', modelVersionId: req.modelVersionId, modelCard: req.modelCard, at: this.clock.now() };
    const result = await this.versions.handle(modelVersionStream(req.modelVersionId), command, commandContextOf(headers));
    return this.views.version(req.modelVersionId, result.position);
  }

  /**
   * The first number above `known` whose stream does not exist yet. The read model may lag the
   * store but never leads it, and versions are never removed, so every number up to the read
   * model's highest is taken.
   */
  private async nextFreeVersion(modelId: string, known: number): Promise<number> {
    let version = known + 1;
    while ((await this.store.streamRevision(modelVersionStream(modelVersionIdFor(modelId, version)))) !== 'no_stream') version++;
    return version;
  }

  /** The version `version` when this command created it before (a retried delivery), else null. */
  private async createdBy(commandId: string, modelId: string, version: number): Promise<string | null> {
    const modelVersionId = modelVersionIdFor(modelId, version);
    const stream = modelVersionStream(modelVersionId);
    const [first] = await this.store.readStream(stream, { maxCount: 1 });
    return first && first.id === deterministicEventId(commandId, stream, 0) ? modelVersionId : null;
  }
}
