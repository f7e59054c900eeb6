import { randomUUID } from 'node:crypto';
import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import {
  commandScopedId,
  type MessageHeaders,
  type ModelCard,
  modelIdFor,
  modelStream,
  modelVersionStream,
  type ModelVersionView,
  type ModelView,
  NotFoundError,
  type PromotionRequestView,
  registryRpc,
  type z,
} from '@modeltrail/contracts';
import { commandContextOf } from '@modeltrail/decider';
import { EVENT_STORE, type EventStore } from '@modeltrail/eventstore';
import { RpcHeaders, RpcPattern } from '@modeltrail/messaging';
import { CLOCK, type Clock } from '../clock';
import { promotionGates } from '../promotion/promotion-gates';
import { RegistryViews } from '../read-model/registry.views';
import { currentRun, currentValidations, SOURCES_CLIENT, type SourcesClient } from '../sources.client';
import { MODEL_COMMANDS, MODEL_VERSION_COMMANDS, type ModelCommands, type ModelVersionCommands } from '../registry.commands';
import type { ModelCommand, VersionRef } from './model.decider';

type Req<K extends keyof typeof registryRpc> = z.output<(typeof registryRpc)[K]['request']>;

/** NATS adapters of the RegisteredModel aggregate: registration, promotion requests and their decisions, archiving. */
@Controller()
export class ModelHandlers {
  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(MODEL_COMMANDS) private readonly models: ModelCommands,
    @Inject(MODEL_VERSION_COMMANDS) private readonly versions: ModelVersionCommands,
    @Inject(SOURCES_CLIENT) private readonly sources: SourcesClient,
    private readonly views: RegistryViews,
  ) {}

  /** The model id comes from the project and the name, so a second model of that name lands on the same stream and is refused there. */
  @RpcPattern(registryRpc.registerModel)
  async register(@Payload() req: Req<'registerModel'>, @RpcHeaders() headers: MessageHeaders): Promise<ModelView> {
    const modelId = modelIdFor(req.projectId, req.name);
    const { items } = await this.sources.getProjects({ projectIds: [req.projectId] }, headers);
    const command: ModelCommand = {
      type: 'RegisterModel',
      modelId,
      projectId: req.projectId,
      projectExists: items.some((p) => p.projectId === req.projectId),
      name: req.name,
      description: req.description,
      at: this.clock.now(),
    };
    const result = await this.models.handle(modelStream(modelId), command, commandContextOf(headers));
    return this.views.model(modelId, result.position);
  }

  /**
   * Judges every gate now, from the version, its run (experiments), the project's success
   * criteria and the latest validation of each dataset version the run used (datasets), and
   * records the request with the results, passed or not.
   */
  @RpcPattern(registryRpc.requestPromotion)
  async request(@Payload() req: Req<'requestPromotion'>, @RpcHeaders() headers: MessageHeaders): Promise<PromotionRequestView> {
    const { ref, card } = await this.versionOf(req.modelVersionId);
    const [version] = await this.views.versions([req.modelVersionId]);
    if (!version) throw new NotFoundError(`model version ${req.modelVersionId} does not exist`, { modelVersionId: req.modelVersionId });
    const ids = version.datasetVersions.map((d) => d.datasetVersionId);
    const [run, { items: projects }, validations] = await Promise.all([
      currentRun(this.sources, this.store, version.runId, headers),
      this.sources.getProjects({ projectIds: [version.projectId] }, headers),
      currentValidations(this.sources, this.store, ids, headers),
    ]);
    const gates = promotionGates({
      runStatus: run?.status ?? null,
      successCriteria: projects.find((p) => p.projectId === version.projectId)?.successCriteria ?? [],
      metrics: version.metrics,
      datasetVersions: version.datasetVersions,
      validations: validations.map((v) => ({ validationId: v.validationId, datasetVersionId: v.datasetVersionId, passed: v.passed, validatedAt: v.validatedAt })),
      modelCard: card,
    });
    const requestId = req.requestId ?? (headers.commandId ? commandScopedId(headers.commandId, 'promotion-request') : randomUUID());
    const command: ModelCommand = {
      type: 'RequestPromotion',
      requestId,
      modelId: ref.modelId,
      version: ref,
      alias: req.alias,
      justification: req.justification,
      requestedBy: headers.actor,
      gates,
      at: this.clock.now(),
    };
    const result = await this.models.handle(modelStream(ref.modelId), command, commandContextOf(headers));
    return this.views.request(requestId, result.position);
  }

  /** Approves as the caller: PromotionApproved and AliasAssigned in one append to the model's stream. */
  @RpcPattern(registryRpc.approvePromotion)
  async approve(@Payload() req: Req<'approvePromotion'>, @RpcHeaders() headers: MessageHeaders): Promise<PromotionRequestView> {
    const modelId = await this.modelOfRequest(req.requestId);
    const command: ModelCommand = { type: 'ApprovePromotion', requestId: req.requestId, modelId, approvedBy: headers.actor, comment: req.comment, at: this.clock.now() };
    const result = await this.models.handle(modelStream(modelId), command, commandContextOf(headers));
    return this.views.request(req.requestId, result.position);
  }

  @RpcPattern(registryRpc.rejectPromotion)
  async reject(@Payload() req: Req<'rejectPromotion'>, @RpcHeaders() headers: MessageHeaders): Promise<PromotionRequestView> {
    const modelId = await this.modelOfRequest(req.requestId);
    const command: ModelCommand = { type: 'RejectPromotion', requestId: req.requestId, modelId, rejectedBy: headers.actor, reason: req.reason, at: this.clock.now() };
    const result = await this.models.handle(modelStream(modelId), command, commandContextOf(headers));
    return this.views.request(req.requestId, result.position);
  }

  /** Refused while the version holds an alias (the model's stream knows its holders). */
  @RpcPattern(registryRpc.archiveModelVersion)
  async archive(@Payload() req: Req<'archiveModelVersion'>, @RpcHeaders() headers: MessageHeaders): Promise<ModelVersionView> {
    const { ref } = await this.versionOf(req.modelVersionId);
    const command: ModelCommand = { type: 'ArchiveModelVersion', modelId: ref.modelId, version: ref, reason: req.reason, at: this.clock.now() };
    const result = await this.models.handle(modelStream(ref.modelId), command, commandContextOf(headers));
    return this.views.version(req.modelVersionId, result.position);
  }

  /** The version as its stream has it now (its card may have changed a moment ago). */
  private async versionOf(modelVersionId: string): Promise<{ ref: VersionRef; card: ModelCard }> {
    const { state } = await this.versions.load(modelVersionStream(modelVersionId));
    if (state.status === 'None') throw new NotFoundError(`model version ${modelVersionId} does not exist`, { modelVersionId });
    return { ref: { modelVersionId: state.modelVersionId, modelId: state.modelId, version: state.version }, card: state.modelCard };
  }

  private async modelOfRequest(requestId: string): Promise<string> {
    const modelId = await this.views.requestModel(requestId);
    if (!modelId) throw new NotFoundError(`promotion request ${requestId} does not exist`, { requestId });
    return modelId;
  }
}
