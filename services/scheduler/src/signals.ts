import type { Subscription } from 'nats';
import type { MessageBus } from '@modeltrail/messaging';
import { subjects, withNamespace } from '@modeltrail/contracts';

/**
 * Where any replica tells the leader that placement has something to do (a job queued or
 * ended, an agent registered, resumed or reporting free capacity). Core NATS, no payload: a
 * lost kick costs at most one placement tick.
 */
export const PLACEMENT_KICK_SUBJECT = 'mt.scheduler.placement.kick';

/**
 * The scheduler's core-NATS nudges: `wake` tells an agent to heartbeat at once (it has a new
 * assignment or a cancel), `kick` tells the leader's placement loop to run now.
 */
export class SchedulerSignals {
  private readonly kickSubject: string;

  constructor(
    private readonly nc: MessageBus,
    private readonly namespace: string | undefined,
  ) {
    this.kickSubject = withNamespace(namespace, PLACEMENT_KICK_SUBJECT);
  }

  wakeAgent(agentId: string): void {
    if (this.nc.isClosed() || this.nc.isDraining()) return;
    this.nc.publish(withNamespace(this.namespace, subjects.agent(agentId, 'wake')));
  }

  kickPlacement(): void {
    if (this.nc.isClosed() || this.nc.isDraining()) return;
    this.nc.publish(this.kickSubject);
  }

  onKick(handler: () => void): Subscription {
    return this.nc.subscribe(this.kickSubject, { callback: () => handler() });
  }
}
