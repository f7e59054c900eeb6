import type { MessageHeaders } from '@modeltrail/contracts';
import type { CommandContext, CommandHandler, HandleResult } from '@modeltrail/decider';
import type { PlatformClients } from '../platform.clients';
import { type MonitorCommand, type MonitorEvent, type MonitorState, type NewestDatasets, NewestDatasetsNeeded } from './monitor.decider';

/** Injection token of the monitors' command loop. */
export const MONITOR_COMMANDS = Symbol('MONITOR_COMMANDS');
export type MonitorCommands = CommandHandler<MonitorCommand, MonitorEvent, MonitorState>;

/**
 * Handles a monitor command that may need the newest dataset versions (a retraining due): first
 * without them; when the monitor asks for them (NewestDatasetsNeeded: nothing was appended), the
 * datasets service is asked and the command decided again with them. So the datasets service is
 * asked only when a retraining is decided.
 */
export async function handleWithNewestDatasets(
  monitors: MonitorCommands,
  clients: PlatformClients,
  stream: string,
  command: (newest: NewestDatasets | null) => MonitorCommand,
  context: CommandContext,
  headers: MessageHeaders,
): Promise<HandleResult<MonitorState>> {
  try {
    return await monitors.handle(stream, command(null), context);
  } catch (error) {
    if (!(error instanceof NewestDatasetsNeeded)) throw error;
    const newest = await clients.newestDatasetVersions(error.datasetVersionIds, headers);
    return monitors.handle(stream, command(newest), context);
  }
}
