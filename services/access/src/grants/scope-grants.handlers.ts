import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { accessRpc, accessStreamOf, type MessageHeaders, type RpcReply, type z } from '@modeltrail/contracts';
import { CommandHandler, commandContextOf } from '@modeltrail/decider';
import { EVENT_STORE, type EventStore } from '@modeltrail/eventstore';
import { RpcHeaders, RpcPattern } from '@modeltrail/messaging';
import { CLOCK, type Clock } from '../clock';
import { AccessViews } from '../read-model/access.views';
import { type ScopeGrantsCommand, scopeGrantsDecider, type ScopeGrantsEvent, type ScopeGrantsState } from './scope-grants.decider';

type Req<K extends keyof typeof accessRpc> = z.output<(typeof accessRpc)[K]['request']>;
type Reply<K extends keyof typeof accessRpc> = RpcReply<(typeof accessRpc)[K]>;

/**
 * NATS adapter of a scope's grants. The caller's authority to grant is the gateway's to check;
 * the actor of the request headers becomes the grantedBy / revokedBy of the events.
 */
@Controller()
export class ScopeGrantsHandlers {
  private readonly commands: CommandHandler<ScopeGrantsCommand, ScopeGrantsEvent, ScopeGrantsState>;

  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly views: AccessViews,
  ) {
    this.commands = new CommandHandler(store, scopeGrantsDecider);
  }

  /** The grant in force after it (a principal that already held the role: its existing grant). */
  @RpcPattern(accessRpc.grantRole)
  async grant(@Payload() req: Req<'grantRole'>, @RpcHeaders() headers: MessageHeaders): Promise<Reply<'grantRole'>> {
    const command: ScopeGrantsCommand = { type: 'GrantRole', scope: req.scope, principal: req.principal, role: req.role, at: this.clock.now() };
    const result = await this.commands.handle(accessStreamOf(req.scope), command, commandContextOf(headers));
    return this.views.grantAfter(req.scope, req.principal, result.position);
  }

  /** The grant it ended, with its revokedBy / revokedAt. */
  @RpcPattern(accessRpc.revokeRole)
  async revoke(@Payload() req: Req<'revokeRole'>, @RpcHeaders() headers: MessageHeaders): Promise<Reply<'revokeRole'>> {
    const command: ScopeGrantsCommand = { type: 'RevokeRole', scope: req.scope, principal: req.principal, at: this.clock.now() };
    const result = await this.commands.handle(accessStreamOf(req.scope), command, commandContextOf(headers));
    return this.views.grantEndedAt(req.scope, req.principal, result.position);
  }
}
