/**
 * A bounded map from stream to what a process keeps of it (the head it last wrote, a folded
 * state), least recently used out first. A capacity of 0 keeps nothing.
 */
export class StreamCache<T> {
  private readonly entries = new Map<string, T>();

  constructor(private readonly capacity: number) {}

  get(stream: string): T | undefined {
    const entry = this.entries.get(stream);
    if (entry !== undefined) {
      this.entries.delete(stream);
      this.entries.set(stream, entry);
    }
    return entry;
  }

  set(stream: string, entry: T): void {
    if (this.capacity <= 0) return;
    this.entries.delete(stream);
    this.entries.set(stream, entry);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  delete(stream: string): void {
    this.entries.delete(stream);
  }
}
