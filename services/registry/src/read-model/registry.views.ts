import { modelStream, type ModelVersionView, modelVersionStream, type ModelView, NotFoundError, type PromotionRequestView, UnavailableError } from '@modeltrail/contracts';
import type { EventStore } from '@modeltrail/eventstore';
import { findCaughtUp, type ProjectionRunner } from '@modeltrail/readmodel';
import type { RegistryReader } from './registry.reader';

/** How long a reply waits for the read model to show what its command appended. */
const REPLY_WAIT_MS = 10_000;
/** How long a lookup waits for the read model to show an entity created a moment ago. */
const LOOKUP_WAIT_MS = 5_000;

/**
 * Views as the service answers them: from the read model, once it reflects what the caller
 * just did. A command's reply waits for the position of its append; a lookup by id waits only
 * when an id has a stream but no row yet (created a moment ago), as `findCaughtUp` does. A
 * promotion request lives in its model's stream, so a request not found waits for the read
 * model to reach the store's head before it is called missing.
 */
export class RegistryViews {
  constructor(
    readonly reader: RegistryReader,
    private readonly store: EventStore,
    private readonly runners: ReadonlyArray<ProjectionRunner>,
  ) {}

  /** Resolves once the read model reflects `position` (nothing to wait for without one). */
  async caughtUp(position: number | undefined, timeoutMs = REPLY_WAIT_MS): Promise<void> {
    if (!position) return;
    await Promise.all(this.runners.map((runner) => runner.waitFor(position, timeoutMs)));
  }

  async model(modelId: string, position?: number): Promise<ModelView> {
    await this.replyWait(position);
    const [view] = await this.models([modelId]);
    if (!view) throw new NotFoundError(`model ${modelId} does not exist`, { modelId });
    return view;
  }

  async version(modelVersionId: string, position?: number): Promise<ModelVersionView> {
    await this.replyWait(position);
    const [view] = await this.versions([modelVersionId]);
    if (!view) throw new NotFoundError(`model version ${modelVersionId} does not exist`, { modelVersionId });
    return view;
  }

  async request(requestId: string, position?: number): Promise<PromotionRequestView> {
    await this.replyWait(position);
    const [view] = await this.requests([requestId]);
    if (!view) throw new NotFoundError(`promotion request ${requestId} does not exist`, { requestId });
    return view;
  }

  models(modelIds: ReadonlyArray<string>): Promise<ModelView[]> {
    return findCaughtUp({ ids: modelIds, find: () => this.reader.models(modelIds), idOf: (v) => v.modelId, streamOf: modelStream, store: this.store, runners: this.runners });
  }

  versions(modelVersionIds: ReadonlyArray<string>): Promise<ModelVersionView[]> {
    return findCaughtUp({
      ids: modelVersionIds,
      find: () => this.reader.versions(modelVersionIds),
      idOf: (v) => v.modelVersionId,
      streamOf: modelVersionStream,
      store: this.store,
      runners: this.runners,
    });
  }

  async requests(requestIds: ReadonlyArray<string>): Promise<PromotionRequestView[]> {
    const found = await this.reader.requests(requestIds);
    if (found.length === new Set(requestIds).size) return found;
    await this.headReached();
    return this.reader.requests(requestIds);
  }

  /** The model of a promotion request, or null when there is no such request. */
  async requestModel(requestId: string): Promise<string | null> {
    const modelId = await this.reader.requestModel(requestId);
    if (modelId) return modelId;
    await this.headReached();
    return this.reader.requestModel(requestId);
  }

  /** Waits (a while at most) until the read model reflects every event stored so far. */
  private async headReached(): Promise<void> {
    const head = await this.store.headPosition();
    await Promise.all(this.runners.map((runner) => runner.waitFor(head, LOOKUP_WAIT_MS))).catch(() => undefined);
  }

  private async replyWait(position: number | undefined): Promise<void> {
    try {
      await this.caughtUp(position);
    } catch {
      throw new UnavailableError(`the change was recorded (position ${position}) but the read model has not caught up yet: read it again shortly`, { position });
    }
  }
}
