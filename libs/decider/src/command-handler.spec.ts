import { InMemoryEventStore } from '@modeltrail/eventstore';
import type { Decider } from './decider';
import { CommandHandler } from './command-handler';

type Command = { type: 'Rename'; name: string } | { type: 'Close' };
type Event = { type: 'test.Renamed.v1'; data: { name: string } } | { type: 'test.Closed.v1'; data: Record<string, never> };
interface State {
  name: string | null;
  closed: boolean;
}

const decider: Decider<Command, Event, State> = {
  initialState: () => ({ name: null, closed: false }),
  evolve: (state, event) => (event.type === 'test.Renamed.v1' ? { ...state, name: event.data.name } : { ...state, closed: true }),
  decide: (command, state) => {
    if (state.closed) throw new Error('closed');
    if (command.type === 'Close') return [{ type: 'test.Closed.v1', data: {} }];
    return state.name === command.name ? [] : [{ type: 'test.Renamed.v1', data: { name: command.name } }];
  },
};

const context = { actor: 'ada@example.com', correlationId: 'c-1' };
const rename = (name: string): Command => ({ type: 'Rename', name });
const names = async (store: InMemoryEventStore, stream: string) => (await store.readStream(stream)).map((e) => (e.data as { name?: string }).name ?? e.type);

/** Two handlers over one store stand for two replicas of a service, each keeping its own states. */
describe('CommandHandler keeps folded states between commands, and never answers from a stale one', () => {
  it('appends on a state another replica made stale: the expected revision catches it, and the command is decided again', async () => {
    const store = new InMemoryEventStore();
    const a = new CommandHandler(store, decider);
    const b = new CommandHandler(store, decider);
    await a.handle('thing-1', rename('x'), context);
    await b.handle('thing-1', rename('y'), context);
    // a still keeps name = x; its append at that revision fails, it catches up, and decides on y.
    const result = await a.handle('thing-1', rename('z'), context);
    expect(result.state).toEqual({ name: 'z', closed: false });
    expect(await names(store, 'thing-1')).toEqual(['x', 'y', 'z']);
  });

  it('does not call a command a no-op on a stale state', async () => {
    const store = new InMemoryEventStore();
    const a = new CommandHandler(store, decider);
    const b = new CommandHandler(store, decider);
    await a.handle('thing-2', rename('x'), context);
    await b.handle('thing-2', rename('y'), context);
    // On a's kept state the name is already x: only the store knows it is y now.
    const result = await a.handle('thing-2', rename('x'), context);
    expect(result.events).toHaveLength(1);
    expect(await names(store, 'thing-2')).toEqual(['x', 'y', 'x']);
  });

  it('does not refuse a command on a stale state, and refuses it on the current one', async () => {
    const store = new InMemoryEventStore();
    const a = new CommandHandler(store, decider);
    const b = new CommandHandler(store, decider);
    await a.handle('thing-3', rename('x'), context);
    await b.handle('thing-3', { type: 'Close' }, context);
    await expect(a.handle('thing-3', rename('y'), context)).rejects.toThrow('closed');
    expect(await names(store, 'thing-3')).toEqual(['x', 'test.Closed.v1']);
  });

  it('recognises a retried command that another replica handled', async () => {
    const store = new InMemoryEventStore();
    const a = new CommandHandler(store, decider);
    const b = new CommandHandler(store, decider);
    await a.handle('thing-4', rename('x'), context);
    const first = await b.handle('thing-4', rename('y'), { ...context, commandId: 'cmd-1' });
    const retried = await a.handle('thing-4', rename('y'), { ...context, commandId: 'cmd-1' });
    expect(retried.events).toEqual([]);
    expect(retried.position).toBe(first.position);
    expect(await names(store, 'thing-4')).toEqual(['x', 'y']);
  });

  it('reads the stream only when it keeps no state for it (cachedStreams: 0 reads every time)', async () => {
    const store = new InMemoryEventStore();
    const reads: string[] = [];
    const readStream = store.readStream.bind(store);
    store.readStream = (stream, options) => {
      reads.push(stream);
      return readStream(stream, options);
    };
    const kept = new CommandHandler(store, decider);
    for (const name of ['a', 'b', 'c']) await kept.handle('thing-5', rename(name), context);
    expect(reads).toEqual(['thing-5']);
    reads.length = 0;
    const uncached = new CommandHandler(store, decider, { cachedStreams: 0 });
    for (const name of ['d', 'e']) await uncached.handle('thing-5', rename(name), context);
    expect(reads.filter((s) => s === 'thing-5').length).toBeGreaterThanOrEqual(2);
  });

  it('load reads only what follows the kept state, and still sees what another replica appended', async () => {
    const store = new InMemoryEventStore();
    const a = new CommandHandler(store, decider);
    const b = new CommandHandler(store, decider);
    await a.handle('thing-load', rename('x'), context);
    await a.handle('thing-load', rename('y'), context);
    await b.handle('thing-load', rename('z'), context);
    const reads: Array<number | undefined> = [];
    const readStream = store.readStream.bind(store);
    jest.spyOn(store, 'readStream').mockImplementation((stream, options) => {
      reads.push(options?.fromRevision);
      return readStream(stream, options);
    });
    expect(await a.load('thing-load')).toEqual({ state: { name: 'z', closed: false }, revision: 2 });
    expect(await new CommandHandler(store, decider).load('thing-load')).toEqual({ state: { name: 'z', closed: false }, revision: 2 });
    // a kept revision 1, so it read from 2; a handler keeping nothing read the whole stream.
    expect(reads).toEqual([2, undefined]);
  });
});

describe('CommandHandler records a cause decided in the same decision', () => {
  type Chain = { type: 'test.Measured.v1'; data: { n: number }; causedBy?: number } | { type: 'test.Alerted.v1'; data: { n: number }; causedBy?: number };
  const chain = (causedBy: number): Decider<{ n: number }, Chain, null> => ({
    initialState: () => null,
    evolve: (state) => state,
    decide: (command) => [
      { type: 'test.Measured.v1', data: { n: command.n } },
      { type: 'test.Alerted.v1', data: { n: command.n }, causedBy },
    ],
  });

  it.each([
    ['without a command id (ids drawn for the decision)', undefined],
    ['with a command id (ids derived from it)', 'cmd-7'],
  ])('an event caused by an earlier one names its id as causationId; the others keep the command cause, %s', async (_, commandId) => {
    const store = new InMemoryEventStore();
    const handler = new CommandHandler(store, chain(0));
    const { events } = await handler.handle('thing-9', { n: 1 }, { ...context, causationId: 'upstream-1', commandId });
    expect(events.map((e) => e.metadata.causationId)).toEqual(['upstream-1', events[0].id]);
    expect(events.map((e) => e.metadata.correlationId)).toEqual(['c-1', 'c-1']);
  });

  it('refuses a cause that is not an earlier event of the decision, appending nothing', async () => {
    const store = new InMemoryEventStore();
    const handler = new CommandHandler(store, chain(1));
    await expect(handler.handle('thing-10', { n: 1 }, context)).rejects.toThrow(/event 1 \(test.Alerted.v1\) names event 1 as its cause/);
    expect(await store.readStream('thing-10')).toEqual([]);
  });
});

describe('CommandHandler runs the commands of one stream one after another', () => {
  it('takes 16 commands to one stream at once without a refused append', async () => {
    const store = new InMemoryEventStore();
    const handler = new CommandHandler(store, decider);
    await handler.handle('busy', rename('start'), context);
    const append = jest.spyOn(store, 'append');
    const results = await Promise.allSettled(Array.from({ length: 16 }, (_, i) => handler.handle('busy', rename(`n${i}`), context)));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    // One append each: none was refused and decided again.
    expect(append).toHaveBeenCalledTimes(16);
    expect(await names(store, 'busy')).toEqual(['start', ...Array.from({ length: 16 }, (_, i) => `n${i}`)]);
  });

  it('does not hold one stream up behind another, and goes on after a refused command', async () => {
    const store = new InMemoryEventStore();
    const handler = new CommandHandler(store, decider);
    let releaseSlow!: () => void;
    const fastDone = new Promise<void>((resolve) => (releaseSlow = resolve));
    const append = store.append.bind(store);
    jest.spyOn(store, 'append').mockImplementation(async (stream, events, options) => {
      // The slow stream's append waits until the fast stream's command is done: queued behind it, this would never end.
      if (stream === 'slow') await fastDone;
      return append(stream, events, options);
    });
    const slow = handler.handle('slow', rename('a'), context);
    await handler.handle('fast', rename('b'), context);
    releaseSlow();
    await slow;
    await handler.handle('slow', { type: 'Close' }, context);
    await expect(handler.handle('slow', rename('c'), context)).rejects.toThrow('closed');
    expect((await handler.handle('fast', rename('d'), context)).events).toHaveLength(1);
  });
});
