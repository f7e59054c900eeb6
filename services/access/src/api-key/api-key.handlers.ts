import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { accessRpc, apiKeyPrefix, type MessageHeaders, type RpcReply, type z } from '@modeltrail/contracts';
import { CommandHandler, commandContextOf } from '@modeltrail/decider';
import { EVENT_STORE, type EventStore } from '@modeltrail/eventstore';
import { RpcHeaders, RpcPattern } from '@modeltrail/messaging';
import { CLOCK, type Clock } from '../clock';
import { AccessViews } from '../read-model/access.views';
import { type ApiKeyCommand, apiKeyDecider, type ApiKeyEvent, type ApiKeyState, apiKeyStream } from './api-key.decider';

type Req<K extends keyof typeof accessRpc> = z.output<(typeof accessRpc)[K]['request']>;
type Reply<K extends keyof typeof accessRpc> = RpcReply<(typeof accessRpc)[K]>;

/** NATS adapter of the ApiKey aggregate: the key's view is the answer, once the read model shows it. */
@Controller()
export class ApiKeyHandlers {
  private readonly commands: CommandHandler<ApiKeyCommand, ApiKeyEvent, ApiKeyState>;

  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly views: AccessViews,
  ) {
    this.commands = new CommandHandler(store, apiKeyDecider);
  }

  @RpcPattern(accessRpc.createApiKey)
  async create(@Payload() req: Req<'createApiKey'>, @RpcHeaders() headers: MessageHeaders): Promise<Reply<'createApiKey'>> {
    const at = this.clock.now();
    const command: ApiKeyCommand = {
      type: 'CreateApiKey',
      keyId: req.keyId,
      name: req.name,
      prefix: apiKeyPrefix(req.keyId),
      secretHash: req.secretHash,
      kind: req.kind,
      principal: req.principal,
      agentId: req.agentId,
      // One spelling of the instant (UTC, milliseconds), whatever offset the request used.
      expiresAt: req.expiresAt === null ? null : new Date(req.expiresAt).toISOString(),
      at,
    };
    const result = await this.commands.handle(apiKeyStream(req.keyId), command, commandContextOf(headers));
    return this.views.key(req.keyId, result.position, new Date(at));
  }

  @RpcPattern(accessRpc.revokeApiKey)
  async revoke(@Payload() req: Req<'revokeApiKey'>, @RpcHeaders() headers: MessageHeaders): Promise<Reply<'revokeApiKey'>> {
    const at = this.clock.now();
    const result = await this.commands.handle(apiKeyStream(req.keyId), { type: 'RevokeApiKey', keyId: req.keyId, at }, commandContextOf(headers));
    return this.views.key(req.keyId, result.position, new Date(at));
  }
}
