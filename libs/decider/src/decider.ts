/**
 * The decider pattern (docs/architecture.md: Inside a service): domain logic as three pure functions. No I/O, no clock, no
 * framework: time and ids arrive inside the command, so given/when/then tests are exact.
 */
export interface DomainEvent<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
  /**
   * The index, in the same decision, of an earlier event that caused this one (a drift window
   * that raised an alert, an alert that requested a retraining). The command loop records that
   * event's id as this one's `causationId`, instead of the command's cause, so history can walk
   * a chain of consequences decided together. Absent: the command's cause.
   */
  causedBy?: number;
}

export interface Decider<Command, Event extends DomainEvent, State> {
  /** Which events the command produces from this state; `[]` when it already happened; throws a domain error when it may not. */
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}

/** Folds events into state with the decider's evolve. */
export function fold<Event extends DomainEvent, State>(decider: Pick<Decider<unknown, Event, State>, 'evolve' | 'initialState'>, events: Iterable<Event>): State {
  let state = decider.initialState();
  for (const event of events) state = decider.evolve(state, event);
  return state;
}
