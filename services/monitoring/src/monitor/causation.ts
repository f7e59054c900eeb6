import { randomUUID } from 'node:crypto';
import type { AllSubscription, AppendOptions, AppendResult, EventStore, NewEvent, ReadAllOptions, ReadStreamOptions, RecordedEvent, StreamRevision, SubscribeToAllOptions, VerifyResult } from '@modeltrail/eventstore';

/**
 * Causes inside one append. The command loop gives every event of a command the command's
 * metadata, so each would name the command's cause; but a monitor's append tells a chain:
 * the window measured → the alert it raised (or resolved) → the retraining that alert leads to.
 * `causeWithin` finds, for each event, the event of the same append that caused it, so the
 * history reads measurement → alert → retraining request → (the scheduler's) job → run.
 */
export function causeWithin(events: ReadonlyArray<Pick<NewEvent, 'type' | 'data'>>): Array<number | null> {
  const measurementAt = new Map<string, number>();
  const alertAt = new Map<string, number>();
  return events.map((event, index) => {
    const data = event.data as Record<string, unknown>;
    switch (event.type) {
      case 'monitoring.DriftMeasured.v1':
      case 'monitoring.PerformanceMeasured.v1':
        measurementAt.set(data.measurementId as string, index);
        return null;
      case 'monitoring.AlertRaised.v1':
      case 'monitoring.AlertResolved.v1': {
        alertAt.set(data.alertId as string, index);
        const ids = data.measurementIds as string[];
        // The window that tipped it: the last of the run.
        return measurementAt.get(ids[ids.length - 1]) ?? null;
      }
      case 'monitoring.RetrainRequested.v1':
      case 'monitoring.RetrainProposed.v1':
        return data.alertId ? (alertAt.get(data.alertId as string) ?? null) : null;
      default:
        return null;
    }
  });
}

/**
 * The event store with causes linked inside each append (`causeWithin`): an event caused by
 * another of the same append names that event's id as its `causationId` (ids are given to the
 * events that have none, as the store would); the others keep the command's cause. Everything
 * else is the store's own.
 */
export class CausationLinkingStore implements EventStore {
  constructor(private readonly store: EventStore) {}

  get kind(): EventStore['kind'] {
    return this.store.kind;
  }

  append(stream: string, events: ReadonlyArray<NewEvent>, options?: AppendOptions): Promise<AppendResult> {
    const causes = causeWithin(events);
    if (causes.every((cause) => cause === null)) return this.store.append(stream, events, options);
    const withIds = events.map((event) => ({ ...event, id: event.id ?? randomUUID() }));
    const linked = withIds.map((event, index) => {
      const cause = causes[index];
      return cause === null ? event : { ...event, metadata: { ...event.metadata, causationId: withIds[cause].id } };
    });
    return this.store.append(stream, linked, options);
  }

  readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    return this.store.readStream(stream, options);
  }

  streamRevision(stream: string): Promise<StreamRevision> {
    return this.store.streamRevision(stream);
  }

  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    return this.store.readAll(options);
  }

  subscribeToAll(options?: SubscribeToAllOptions): AllSubscription {
    return this.store.subscribeToAll(options);
  }

  verifyStream(stream: string): Promise<VerifyResult> {
    return this.store.verifyStream(stream);
  }

  headPosition(): Promise<number> {
    return this.store.headPosition();
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
