import { mulberry32, ValidationError } from '@modeltrail/contracts';
import { buildReference, type CurrentColumns, decodeReference, encodeReference, type FeatureSpec, ksAndWasserstein, type NumericReference } from '@modeltrail/drift';

const batch = (rows: number, columns: Record<string, Float64Array | string[]>, missing?: Record<string, number>): CurrentColumns => ({
  rows,
  columns: new Map(Object.entries(columns)),
  ...(missing ? { missing: new Map(Object.entries(missing)) } : {}),
});

function uniformish(seed: number, n: number): Float64Array {
  const random = mulberry32(seed);
  return Float64Array.from({ length: n }, () => Math.round((random() * 100 + random() * random() * 50) * 1000) / 1000);
}

const specs: FeatureSpec[] = [
  { name: 'age', kind: 'NUMERIC' },
  { name: 'plan', kind: 'CATEGORICAL' },
  { name: 'clicks', kind: 'NUMERIC' },
];

function numeric(profile: ReturnType<typeof buildReference>, index: number): NumericReference {
  const feature = profile.features[index];
  if (feature.kind !== 'NUMERIC') throw new Error('numeric expected');
  return feature;
}

describe('buildReference', () => {
  it('keeps every present value sorted, counts missing ones, and the categories by name', () => {
    const profile = buildReference(specs, batch(6, { age: Float64Array.of(40, 31, Number.NaN, 25, 31), plan: ['pro', 'free', 'free', 'team', 'free'], clicks: Float64Array.of(3, 3, 1, 1, 1, 2) }, { age: 1, plan: 1 }));
    expect(profile.rows).toBe(6);
    expect(numeric(profile, 0)).toMatchObject({ count: 4, missing: 2, exact: true, values: Float64Array.of(25, 31, 31, 40), distinct: { values: [25, 31, 40], counts: [1, 2, 1] } });
    expect(profile.features[1]).toEqual({ kind: 'CATEGORICAL', name: 'plan', count: 5, missing: 1, counts: { free: 3, pro: 1, team: 1 } });
    expect(numeric(profile, 2).distinct).toEqual({ values: [1, 2, 3], counts: [3, 1, 2] });
  });

  it('beyond the exact limit keeps a sketch of equally spaced order statistics, deciles and moments from every value', () => {
    const values = uniformish(7, 20_001);
    const exact = numeric(buildReference([specs[0]], batch(values.length, { age: values })), 0);
    const sketched = numeric(buildReference([specs[0]], batch(values.length, { age: values }), { exactLimit: 5_000, sketchPoints: 201 }), 0);
    const sorted = values.slice().sort();

    expect(sketched.exact).toBe(false);
    expect(sketched.count).toBe(20_001);
    expect(sketched.values.length).toBe(201);
    // Point j is the value of rank j·(n−1)/(S−1) = 100·j: the minimum and maximum included.
    for (let j = 0; j < 201; j++) expect(sketched.values[j]).toBe(sorted[100 * j]);
    expect(sketched.decileEdges).toEqual(exact.decileEdges);
    expect(sketched.decileShares).toEqual(exact.decileShares);
    expect([sketched.mean, sketched.std]).toEqual([exact.mean, exact.std]);

    // The sketch's distribution function is within 1/(S−1) + 1/n of the reference's, so is D.
    const current = uniformish(8, 3_000).map((v) => v * 1.1).sort();
    const bound = 1 / 200 + 1 / 20_001;
    const full = ksAndWasserstein(exact.values, current);
    const fromSketch = ksAndWasserstein(sketched.values, current);
    expect(Math.abs(fromSketch.ks - full.ks)).toBeLessThanOrEqual(bound);
    expect(Math.abs(fromSketch.wasserstein - full.wasserstein)).toBeLessThanOrEqual(bound * (sorted[sorted.length - 1] - sorted[0]));
  });

  it('rejects an absent feature, a wrong column type, a feature without values and an infinity', () => {
    expect(() => buildReference(specs, batch(1, { age: Float64Array.of(1) }))).toThrow(new ValidationError('reference data lacks the feature column(s) plan, clicks'));
    expect(() => buildReference([specs[1]], batch(1, { plan: Float64Array.of(1) }))).toThrow('categorical feature plan needs a string[] column, got Float64Array');
    expect(() => buildReference([specs[0]], batch(2, { age: Float64Array.of(Number.NaN) }, { age: 1 }))).toThrow('numeric feature age has no value in the reference data (2 missing)');
    expect(() => buildReference([specs[0]], batch(2, { age: Float64Array.of(1, Infinity) }))).toThrow('numeric feature age holds an infinite value in the reference data');
    expect(() => buildReference([specs[0], specs[0]], batch(1, { age: Float64Array.of(1) }))).toThrow('feature age is listed twice');
  });
});

describe('encodeReference / decodeReference', () => {
  const data = () =>
    batch(7, {
      age: Float64Array.of(40, 31, 25, 31, 52.5, -3, 19),
      plan: ['pro', 'free', 'free', 'team', 'free', '__proto__', 'pro'],
      clicks: uniformish(3, 1_000),
    });

  it('gives back the same profile', () => {
    const profile = buildReference(specs, data(), { exactLimit: 500, sketchPoints: 101 });
    const decoded = decodeReference(encodeReference(profile));
    expect(decoded).toEqual(profile);
    expect(numeric(decoded, 2).exact).toBe(false);
    expect(decoded.features[1].kind === 'CATEGORICAL' && Object.hasOwn(decoded.features[1].counts, '__proto__')).toBe(true);
  });

  it('gives the same bytes for the same profile, whatever order the categories were met in', () => {
    const first = encodeReference(buildReference(specs, data()));
    const shuffled = data();
    (shuffled.columns.get('plan') as string[]).reverse();
    const second = encodeReference(buildReference(specs, shuffled));
    expect(second.equals(first)).toBe(true);
    // A Buffer sliced out of a larger one (not 8-byte aligned) decodes too.
    const padded = Buffer.concat([Buffer.from([1, 2, 3]), first]).subarray(3);
    expect(decodeReference(padded)).toEqual(decodeReference(first));
  });

  it('names what is wrong with corrupt bytes', () => {
    const bytes = encodeReference(buildReference(specs, data()));
    expect(() => decodeReference(Buffer.from('hello world'))).toThrow('corrupt reference profile: it does not start with the MTDR mark');
    expect(() => decodeReference(bytes.subarray(0, 40))).toThrow(/corrupt reference profile: its header of \d+ bytes runs past the end/);
    expect(() => decodeReference(bytes.subarray(0, bytes.length - 8))).toThrow(/corrupt reference profile: it is \d+ bytes long where its header describes \d+/);

    const headerLength = bytes.readUInt32LE(4);
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
    const withHeader = (changed: unknown) => {
      const json = Buffer.from(JSON.stringify(changed));
      const out = Buffer.concat([bytes.subarray(0, 8), json, Buffer.alloc((8 - ((8 + json.length) % 8)) % 8), bytes.subarray(Math.ceil((8 + headerLength) / 8) * 8)]);
      out.writeUInt32LE(json.length, 4);
      return out;
    };
    expect(() => decodeReference(withHeader({ ...header, formatVersion: 2 }))).toThrow(/corrupt reference profile: its header is invalid: .*formatVersion/);
    expect(() => decodeReference(withHeader(header))).not.toThrow();

    const unsorted = Buffer.from(bytes);
    const firstValue = Math.ceil((8 + headerLength) / 8) * 8;
    unsorted.writeDoubleLE(1e9, firstValue);
    expect(() => decodeReference(unsorted)).toThrow("corrupt reference profile: feature age's values are not finite and ascending (at 1)");
  });
});
