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

/** canonicalJson as first written (filter, sort, map, join): the fast one must agree with it on every value. */
function referenceCanonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    return text === undefined ? 'null' : text;
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : referenceCanonicalJson(v))).join(',')}]`;
  const record = value as Record<string, unknown>;
  const entries = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${referenceCanonicalJson(record[k])}`);
  return `{${entries.join(',')}}`;
}

describe('canonicalJson', () => {
  const proto = JSON.parse('{"__proto__": {"z": 1}, "a": 2}') as unknown;
  const values: unknown[] = [
    null,
    0,
    -0,
    1.5e300,
    'text "quoted" \\ \u2028 \u0001',
    true,
    [],
    {},
    [undefined, null, 1, [2, [3]], { b: undefined }],
    { b: 1, a: undefined, c: { z: [1, { y: 2, x: 3 }], '': 'empty key' } },
    { 'é': 1, e: 2, E: 3, '10': 4, '9': 5, 'a"b': 6, 'line\nkey': 7 },
    { only: undefined },
    { first: undefined, second: 2 },
    proto,
  ];

  it.each(values.map((v, i) => [i, v]))('writes what the reference writes (value %i)', (_i, value) => {
    expect(canonicalJson(value)).toBe(referenceCanonicalJson(value));
  });

  it('sorts keys and drops undefined members whatever order they came in', () => {
    expect(canonicalJson({ b: [1, undefined], a: { d: undefined, c: 'x' } })).toBe('{"a":{"c":"x"},"b":[1,null]}');
  });
});
