import type { MessagingLogger } from '../src/logger';

/** A logger that keeps what it was told, so tests can assert what was logged (and keep the output quiet). */
export class RecordingLogger implements MessagingLogger {
  readonly entries: Array<{ level: 'log' | 'warn' | 'error'; message: string; stack?: string }> = [];

  log(message: string): void {
    this.entries.push({ level: 'log', message });
  }

  warn(message: string): void {
    this.entries.push({ level: 'warn', message });
  }

  error(message: string, stack?: string): void {
    this.entries.push({ level: 'error', message, stack });
  }

  errors(): Array<{ message: string; stack?: string }> {
    return this.entries.filter((e) => e.level === 'error');
  }
}
