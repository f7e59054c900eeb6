import { Logger } from '@nestjs/common';
import { UnavailableError } from '@modeltrail/contracts';
import type { AllSubscription, EventStore, RecordedEvent } from '@modeltrail/eventstore';
import { Follower } from '../common/follower';
import type { AlertEvent } from './monitoring.types';

const ALERT_EVENTS: Record<string, AlertEvent['status']> = { 'monitoring.AlertRaised.v1': 'OPEN', 'monitoring.AlertResolved.v1': 'RESOLVED' };
/** Alert events a subscriber may leave unread before it is ended (it subscribes again). */
const MAX_BACKLOG = 1_000;

interface AlertEventData {
  alertId: string;
  deploymentId: string;
  kind: string;
  windows: number[];
  raisedAt?: string;
  resolvedAt?: string;
}

/**
 * Alerts raised and resolved, live, from the event store: one subscription of the store (from
 * its head when the first subscriber came) shared by every subscriber of this gateway, closed
 * when the last one leaves.
 */
export class AlertFeed {
  private readonly logger = new Logger(AlertFeed.name);
  /** Each follower, with the deployment it follows (null: every deployment). */
  private readonly followers = new Map<Follower<AlertEvent>, string | null>();
  private subscription: AllSubscription | null = null;

  constructor(private readonly store: EventStore) {}

  /** Subscribers present now (tests). */
  get size(): number {
    return this.followers.size;
  }

  /** The alert events of one deployment (or of all) from now on. */
  async follow(deploymentId: string | null): Promise<AsyncIterableIterator<AlertEvent>> {
    const follower: Follower<AlertEvent> = new Follower<AlertEvent>(() => this.leave(follower));
    this.followers.set(follower, deploymentId);
    if (!this.subscription) {
      const from = await this.store.headPosition();
      // Another subscriber may have started it while the head was read.
      if (!this.subscription) {
        const subscription = this.store.subscribeToAll({ fromPosition: from });
        this.subscription = subscription;
        void this.pump(subscription);
      }
    }
    return follower;
  }

  private leave(follower: Follower<AlertEvent>): void {
    this.followers.delete(follower);
    if (this.followers.size === 0 && this.subscription) {
      const subscription = this.subscription;
      this.subscription = null;
      void subscription.close();
    }
  }

  private async pump(subscription: AllSubscription): Promise<void> {
    try {
      for await (const batch of subscription.batches()) {
        for (const event of batch) {
          const status = ALERT_EVENTS[event.type];
          if (status) this.deliver(toAlertEvent(event as RecordedEvent<string, AlertEventData>, status));
        }
      }
    } catch (error) {
      if (this.subscription !== subscription) return;
      this.logger.warn(`alert feed failed: ${error instanceof Error ? error.message : String(error)}`);
      this.subscription = null;
      for (const follower of [...this.followers.keys()]) follower.fail(new UnavailableError('the alert feed of the event store was interrupted; subscribe again', {}));
    }
  }

  private deliver(event: AlertEvent): void {
    for (const [follower, deploymentId] of this.followers) {
      if (deploymentId !== null && deploymentId !== event.deploymentId) continue;
      if (follower.backlog >= MAX_BACKLOG) follower.fail(new UnavailableError(`this subscriber fell ${MAX_BACKLOG} alert events behind; subscribe again`, {}));
      else follower.push(event);
    }
  }
}

function toAlertEvent(event: RecordedEvent<string, AlertEventData>, status: AlertEvent['status']): AlertEvent {
  const d = event.data;
  return { status, alertId: d.alertId, deploymentId: d.deploymentId, kind: d.kind, windows: d.windows, at: (status === 'OPEN' ? d.raisedAt : d.resolvedAt) ?? event.metadata.occurredAt, position: event.position };
}
