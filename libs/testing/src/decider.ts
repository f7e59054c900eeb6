import type { Decider, DomainEvent } from '@modeltrail/decider';

/**
 * given / when / then for deciders:
 *   spec(datasetDecider).given([registered]).when(archive).then([archived]);
 *   spec(datasetDecider).given([]).when(archive).thenThrows(NotFoundError, /not registered/);
 */
export function deciderSpec<Command, Event extends DomainEvent, State>(decider: Decider<Command, Event, State>) {
  return {
    given(events: Event[]) {
      const state = events.reduce((s, e) => decider.evolve(s, e), decider.initialState());
      return {
        when(command: Command) {
          const run = () => decider.decide(command, state);
          return {
            then(expected: Event[]) {
              expect(run()).toEqual(expected);
            },
            thenNothingHappens() {
              expect(run()).toEqual([]);
            },
            thenThrows(errorType: new (...args: never[]) => Error, message?: RegExp | string) {
              let thrown: unknown;
              try {
                run();
              } catch (error) {
                thrown = error;
              }
              expect(thrown).toBeInstanceOf(errorType);
              if (message) expect((thrown as Error).message).toMatch(message);
            },
          };
        },
      };
    },
  };
}
