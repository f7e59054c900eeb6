import type { MessageHeaders } from '@modeltrail/contracts';
import type { CommandContext } from '@modeltrail/decider';

/** The metadata of a request as the context of the command it carries. */
export function contextOf(headers: MessageHeaders): CommandContext {
  return { actor: headers.actor, correlationId: headers.correlationId, causationId: headers.causationId ?? null, commandId: headers.commandId };
}
