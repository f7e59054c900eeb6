import { EventCatalog } from '@modeltrail/contracts';
import { describeEventStoreContract } from '../test/event-store.contract';
import { InMemoryEventStore } from './memory.event-store';

describeEventStoreContract('in-memory', {
  async create(options) {
    const store = new InMemoryEventStore({ catalog: options?.catalog ?? new EventCatalog({}, { strict: false }) });
    return {
      store,
      tamper: async (stream, revision, data) => store.tamper(stream, revision, data),
      cleanup: () => store.close(),
    };
  },
});
