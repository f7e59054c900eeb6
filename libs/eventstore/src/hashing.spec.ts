import { canonicalEvent, canonicalJson, eventHash, type HashableEvent } from './hashing';

/** The hash is taken over canonicalJson of the event with its prevHash; canonicalEvent writes that string directly. */
describe('canonicalEvent', () => {
  const events: HashableEvent[] = [
    { id: 'a1b2c3d4-0000-4000-8000-000000000001', stream: 'run-1', revision: 0, type: 'experiments.RunStarted.v1', data: { b: 1, a: [1, 'x', null, { d: true, c: 2.5e-8 }] }, actor: 'ada@example.com', correlationId: 'c-1', causationId: null, occurredAt: '2026-12-01T20:00:00.000Z' },
    { id: 'a1b2c3d4-0000-4000-8000-000000000002', stream: 'quote"stream\\', revision: 12345, type: 't.Ünïcödé.v1', data: 'just a string\u2028', actor: 'system', correlationId: 'line\nbreak', causationId: 'cause', occurredAt: '0001-01-01T00:00:00.000Z' },
    { id: 'a1b2c3d4-0000-4000-8000-000000000003', stream: 's', revision: 9_007_199_254_740_991, type: 't', data: null, actor: '', correlationId: '', causationId: '', occurredAt: '9999-12-31T23:59:59.999Z' },
  ];

  it.each(events.map((e) => [e.stream, e]))('writes exactly canonicalJson of the event and prevHash (%s)', (_name, event) => {
    const prevHash = 'f'.repeat(64);
    const whole = canonicalJson({ ...event, prevHash });
    expect(canonicalEvent(event, prevHash, canonicalJson(event.data))).toBe(whole);
    expect(eventHash(event, prevHash)).toBe(eventHash(event, prevHash, canonicalJson(event.data)));
  });
});
