import type { EventCatalog } from '@modeltrail/contracts';
import type { EventStore } from '../src';

/** What the contract suite needs from an adapter under test. */
export interface StoreUnderTest {
  store: EventStore;
  /**
   * Changes the stored data of one event behind the store's back (PostgreSQL: an UPDATE;
   * in-memory: a direct edit; EventStoreDB: whatever forgery its storage allows). Absent when
   * the backend cannot be tampered with; the tamper test then reports as skipped.
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
}
