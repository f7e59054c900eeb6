/**
 * Work that only one replica of the scheduler may do at a time (placement, the liveness
 * monitor, the reactor). The leadership starts its duties when this replica takes the lock
 * and stops them when it loses or gives it up.
 */
export interface LeaderDuty {
  readonly name: string;
  /** `since`: when this replica became the leader (ISO-8601). */
  start(since: string): Promise<void>;
  stop(): Promise<void>;
}

/** Runs `work` over `items` with at most `concurrency` in flight; results in item order. */
export async function mapConcurrent<T, R>(items: ReadonlyArray<T>, concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
