import type { EventCatalog } from '@modeltrail/contracts';
import type { EventStore } from '../src';

/** What the contract suite needs from an adapter under test. */
export interface StoreUnderTest {
  store: EventStore;
  /**
   * Changes the stored data of one event behind the store's back (PostgreSQL: an UPDATE;
   * in-memory: a direct edit). Absent when the backend cannot be tampered with; the harness
   * then names the reason in `unsupported.tamper`.
   */
  tamper?(stream: string, revision: number, data: unknown): Promise<void>;
  /** Releases everything the store holds (connections, schemas). */
  cleanup(): Promise<void>;
}

export interface ContractHarness {
  /** A fresh, isolated store. `catalog` (when given) must be passed to the adapter. */
  create(options?: { catalog?: EventCatalog }): Promise<StoreUnderTest>;
  /** Adapters that cannot run here say why; the suite then shows as skipped with that reason. */
  skipReason?: string;
  /** Contract clauses the backend cannot honour, each with the reason; those tests show as skipped. */
  unsupported?: {
    /** Editing stored history in place (the tamper test). */
    tamper?: string;
    /** Refusing an event id that already exists in another stream. */
    eventIdAcrossStreams?: string;
  };
}
