import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { NotFoundError, registryRpc, type RpcReply, type z } from '@modeltrail/contracts';
import { RpcPattern } from '@modeltrail/messaging';
import { decodeNumberCursor, decodeTimeCursor, encodeNumberCursor, encodeTimeCursor } from '@modeltrail/readmodel';
import type { AsOf } from './read-model/registry.reader';
import { RegistryViews } from './read-model/registry.views';

type Req<K extends keyof typeof registryRpc> = z.output<(typeof registryRpc)[K]['request']>;
type Reply<K extends keyof typeof registryRpc> = RpcReply<(typeof registryRpc)[K]>;

/** Request/reply queries answered from the registry's read model. */
@Controller()
export class RegistryQueries {
  constructor(private readonly views: RegistryViews) {}

  @RpcPattern(registryRpc.getModels)
  async getModels(@Payload() req: Req<'getModels'>): Promise<Reply<'getModels'>> {
    return { items: await this.views.models(req.modelIds) };
  }

  @RpcPattern(registryRpc.getModelVersions)
  async getModelVersions(@Payload() req: Req<'getModelVersions'>): Promise<Reply<'getModelVersions'>> {
    return { items: await this.views.versions(req.modelVersionIds) };
  }

  @RpcPattern(registryRpc.getPromotionRequests)
  async getPromotionRequests(@Payload() req: Req<'getPromotionRequests'>): Promise<Reply<'getPromotionRequests'>> {
    return { items: await this.views.requests(req.requestIds) };
  }

  @RpcPattern(registryRpc.listRunModelVersions)
  async listRunModelVersions(@Payload() req: Req<'listRunModelVersions'>): Promise<Reply<'listRunModelVersions'>> {
    return { items: await this.views.reader.versionsOfRuns(req.runIds) };
  }

  /** Oldest first (registration time, then model id). */
  @RpcPattern(registryRpc.listModels)
  async listModels(@Payload() req: Req<'listModels'>): Promise<Reply<'listModels'>> {
    const rows = await this.views.reader.modelPage(req.projectId, req.after ? decodeTimeCursor(req.after) : null, req.first + 1);
    const page = rows.slice(0, req.first);
    const last = page[page.length - 1];
    return { items: page, pageInfo: { endCursor: last ? encodeTimeCursor(new Date(last.registeredAt), last.modelId) : null, hasNextPage: rows.length > req.first } };
  }

  /** Newest version first. */
  @RpcPattern(registryRpc.listModelVersions)
  async listModelVersions(@Payload() req: Req<'listModelVersions'>): Promise<Reply<'listModelVersions'>> {
    const rows = await this.views.reader.versionPage(req.modelId, req.status, req.after ? decodeNumberCursor(req.after) : null, req.first + 1);
    const page = rows.slice(0, req.first);
    const last = page[page.length - 1];
    return { items: page, pageInfo: { endCursor: last ? encodeNumberCursor(last.version) : null, hasNextPage: rows.length > req.first } };
  }

  /** Newest first (request time, then request id). */
  @RpcPattern(registryRpc.listPromotionRequests)
  async listPromotionRequests(@Payload() req: Req<'listPromotionRequests'>): Promise<Reply<'listPromotionRequests'>> {
    const rows = await this.views.reader.requestPage(req.filter, req.after ? decodeTimeCursor(req.after) : null, req.first + 1);
    const page = rows.slice(0, req.first);
    const last = page[page.length - 1];
    return { items: page, pageInfo: { endCursor: last ? encodeTimeCursor(new Date(last.requestedAt), last.requestId) : null, hasNextPage: rows.length > req.first } };
  }

  /** The assignment in force at `asOf` (a time or a position; now when neither), with its version; null before the first one. */
  @RpcPattern(registryRpc.getAlias)
  async getAlias(@Payload() req: Req<'getAlias'>): Promise<Reply<'getAlias'>> {
    await this.existingModel(req.modelId);
    const asOf: AsOf = req.asOf !== undefined ? { at: new Date(req.asOf) } : req.asOfPosition !== undefined ? { position: req.asOfPosition } : null;
    const assignment = await this.views.reader.aliasAt(req.modelId, req.alias, asOf);
    const [version] = assignment ? await this.views.versions([assignment.modelVersionId]) : [];
    return { assignment, version: version ?? null };
  }

  /** Every move of the alias, newest first. */
  @RpcPattern(registryRpc.aliasHistory)
  async aliasHistory(@Payload() req: Req<'aliasHistory'>): Promise<Reply<'aliasHistory'>> {
    await this.existingModel(req.modelId);
    return { items: await this.views.reader.aliasHistory(req.modelId, req.alias) };
  }

  private async existingModel(modelId: string): Promise<void> {
    const [model] = await this.views.models([modelId]);
    if (!model) throw new NotFoundError(`model ${modelId} does not exist`, { modelId });
  }
}
