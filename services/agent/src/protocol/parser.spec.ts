import type { OutputLine } from '../process/job-process';
import { parseOutputLine, type ProtocolEvent } from './parser';
import { JobOutputReader } from './reader';

const TIME = '2026-12-01T10:00:00.000Z';
const out = (text: string, extra: Partial<OutputLine> = {}): OutputLine => ({ stream: 'stdout', seq: 7, time: TIME, text, truncated: false, ...extra });
const parse = (text: string, extra: Partial<OutputLine> = {}) => parseOutputLine(out(text, extra));
const types = (events: ProtocolEvent[]) => events.map((e) => e.type);
const warning = (events: ProtocolEvent[]) => (events.find((e) => e.type === 'warning') as { message: string } | undefined)?.message;

describe('parseOutputLine', () => {
  it('reads a metrics record: step, and the line time unless the record has a timestamp', () => {
    expect(parse('{"modeltrail": 1, "type": "metrics", "metrics": {"loss": 0.4, "val/acc": 0.9, "f1 macro": 1}, "step": 3}')).toEqual([
      {
        type: 'metrics',
        seq: 7,
        time: TIME,
        points: [
          { key: 'loss', value: 0.4, step: 3, timestamp: TIME },
          { key: 'val/acc', value: 0.9, step: 3, timestamp: TIME },
          { key: 'f1 macro', value: 1, step: 3, timestamp: TIME },
        ],
      },
    ]);
    const stamped = parse('  {"modeltrail":1,"type":"metrics","metrics":{"loss":1},"timestamp":"2026-12-01T11:00:00+01:00"}  ');
    expect(stamped).toMatchObject([{ type: 'metrics', points: [{ key: 'loss', value: 1, step: 0, timestamp: '2026-12-01T10:00:00.000Z' }] }]);
  });

  it('reads params, artifact and status records', () => {
    expect(parse('{"modeltrail":1,"type":"params","params":{"lr":0.01,"optimizer":"sgd","shuffle":true}}')).toEqual([
      { type: 'params', seq: 7, time: TIME, params: { lr: 0.01, optimizer: 'sgd', shuffle: true } },
    ]);
    expect(parse('{"modeltrail":1,"type":"artifact","path":"model.json","name":" model "}')).toEqual([{ type: 'artifact', seq: 7, time: TIME, path: 'model.json', name: 'model' }]);
    expect(parse('{"modeltrail":1,"type":"artifact","path":"sub/w.bin"}')).toEqual([{ type: 'artifact', seq: 7, time: TIME, path: 'sub/w.bin', name: null }]);
    expect(parse('{"modeltrail":1,"type":"status","message":"epoch 2 of 10"}')).toEqual([{ type: 'status', seq: 7, time: TIME, message: 'epoch 2 of 10' }]);
    expect(parse(`{"modeltrail":1,"type":"status","message":"${'m'.repeat(1500)}"}`)).toMatchObject([{ type: 'status', message: 'm'.repeat(1000) }]);
  });

  it('keeps everything else as a log line: plain text, JSON without the marker, stderr, a JSON list', () => {
    for (const line of [out('epoch 1 loss 0.3'), out('{"loss": 0.3}'), out('[1, 2]'), out('{not json at all'), out('{"modeltrail":1,"type":"metrics","metrics":{"a":1}}', { stream: 'stderr' })]) {
      expect(parseOutputLine(line)).toEqual([{ type: 'log', line }]);
    }
  });

  it('keeps a malformed marker line as a log line and adds a warning that says why', () => {
    const cases: Array<[string, RegExp, Partial<OutputLine>?]> = [
      ['{"modeltrail": 1, "type": "metrics", "metrics": {"loss": 0.4}', /not valid JSON/],
      ['{"modeltrail": 1, "type": "metrics", "metrics": {"loss": 0.4, "acc', /cut at the line length limit/, { truncated: true }],
      ['{"modeltrail": 2, "type": "metrics", "metrics": {"loss": 1}}', /protocol version 2 is not one this agent reads/],
      ['{"modeltrail": "1", "type": "metrics", "metrics": {"loss": 1}}', /protocol version "1"/],
      ['{"modeltrail": 1, "type": "histogram"}', /unknown record type "histogram"/],
      ['{"modeltrail": 1}', /unknown record type undefined/],
      ['{"modeltrail": 1, "type": "metrics", "metrics": [1, 2]}', /needs a "metrics" object/],
      ['{"modeltrail": 1, "type": "metrics", "metrics": {}}', /at least one metric/],
      ['{"modeltrail": 1, "type": "metrics", "metrics": {"loss": 1}, "step": -1}', /"step" must be a non-negative whole number, got -1/],
      ['{"modeltrail": 1, "type": "metrics", "metrics": {"loss": 1}, "step": 1.5}', /got 1.5/],
      ['{"modeltrail": 1, "type": "metrics", "metrics": {"loss": 1}, "step": "3"}', /got "3"/],
      ['{"modeltrail": 1, "type": "metrics", "metrics": {"loss": 1}, "timestamp": "yesterday"}', /"timestamp" must be an ISO-8601/],
      ['{"modeltrail": 1, "type": "params", "params": "lr=1"}', /needs a "params" object/],
      ['{"modeltrail": 1, "type": "artifact"}', /needs a "path" string/],
      ['{"modeltrail": 1, "type": "artifact", "path": "a", "name": "bad\\u0001name"}', /control characters/],
      ['{"modeltrail": 1, "type": "artifact", "path": "a", "name": "   "}', /must be 1 to 256 characters/],
      ['{"modeltrail": 1, "type": "status"}', /non-empty "message"/],
    ];
    for (const [text, why, extra] of cases) {
      const events = parse(text, extra);
      expect(types(events)).toEqual(['log', 'warning']);
      expect(warning(events)).toMatch(why);
      expect(warning(events)).toMatch(/^line 7: .*kept as a log line$/);
    }
  });

  it('drops the metrics and params that break a limit, names them, and keeps the rest', () => {
    const events = parse(
      JSON.stringify({ modeltrail: 1, type: 'metrics', step: 2, metrics: { loss: 0.5, 'bad:key': 1, ['k'.repeat(251)]: 1, acc: 'high', huge: 1e999, ok2: -3 } }).replace('null', '1e999'),
    );
    expect(types(events)).toEqual(['metrics', 'warning']);
    expect((events[0] as { points: Array<{ key: string }> }).points.map((p) => p.key)).toEqual(['loss', 'ok2']);
    const message = warning(events) as string;
    expect(message).toMatch(/dropped 4 metrics/);
    expect(message).toMatch(/metric name "bad:key" must be 1 to 250 characters/);
    expect(message).toMatch(/metric "acc" must be a finite number, got "high"/);
    expect(message).toMatch(/metric "huge" must be a finite number, got Infinity/);

    const allBad = parse('{"modeltrail":1,"type":"metrics","metrics":{"x":"NaN"}}');
    expect(types(allBad)).toEqual(['log', 'warning']);
    expect(warning(allBad)).toMatch(/kept as a log line/);

    const params = parse(JSON.stringify({ modeltrail: 1, type: 'params', params: { lr: 0.1, long: 'x'.repeat(5001), list: [1], nested: { a: 1 }, ok: false } }));
    expect(params).toMatchObject([{ type: 'params', params: { lr: 0.1, ok: false } }, { type: 'warning' }]);
    expect(warning(params)).toMatch(/dropped 3 parameters/);
  });

  it('names at most ten problems in one warning and counts the rest', () => {
    const metrics = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`bad:${i}`, 1]));
    const message = warning(parse(JSON.stringify({ modeltrail: 1, type: 'metrics', metrics }))) as string;
    expect(message).toMatch(/dropped 25 metrics/);
    expect(message).toMatch(/and 15 more/);
  });

  it('refuses a record with too many metrics as a whole', () => {
    const metrics = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`m${i}`, i]));
    expect(warning(parse(JSON.stringify({ modeltrail: 1, type: 'metrics', metrics })))).toMatch(/at most 1000 metrics/);
  });
});

describe('JobOutputReader', () => {
  it('routes logs, metrics, statuses and warnings; merges params; keeps the named artifacts', () => {
    const added: unknown[][] = [];
    const logs: string[] = [];
    const warnings: string[] = [];
    const statuses: string[] = [];
    const paramCalls: unknown[] = [];
    const reader = new JobOutputReader({
      metrics: { add: (points) => added.push(points) },
      onLog: (line) => logs.push(line.text),
      onWarning: (w) => warnings.push(w.message),
      onStatus: (s) => statuses.push(s.message),
      onParams: (p) => paramCalls.push(p),
    });
    const lines = [
      'starting',
      '{"modeltrail":1,"type":"params","params":{"lr":0.1,"epochs":3}}',
      '{"modeltrail":1,"type":"metrics","metrics":{"loss":1},"step":0}',
      '{"modeltrail":1,"type":"status","message":"half way"}',
      '{"modeltrail":1,"type":"params","params":{"lr":0.05}}',
      '{"modeltrail":1,"type":"artifact","path":"model.json","name":"model"}',
      '{"modeltrail":1,"type":"metrics"',
    ];
    lines.forEach((text, seq) => reader.onLine({ stream: 'stdout', seq, time: TIME, text, truncated: false }));
    expect(logs).toEqual(['starting', '{"modeltrail":1,"type":"metrics"']);
    expect(added).toEqual([[{ key: 'loss', value: 1, step: 0, timestamp: TIME }]]);
    expect(statuses).toEqual(['half way']);
    expect(reader.params).toEqual({ lr: 0.05, epochs: 3 });
    expect(paramCalls).toEqual([{ lr: 0.1, epochs: 3 }, { lr: 0.05 }]);
    expect(reader.declaredArtifacts).toEqual([{ path: 'model.json', name: 'model', seq: 5 }]);
    expect(warnings).toHaveLength(1);
    expect(reader.counts).toEqual({ lines: 7, logLines: 2, records: 5, metricPoints: 1, warnings: 1 });
  });

  it('holds a run to 200 parameters', () => {
    const warnings: string[] = [];
    const reader = new JobOutputReader({ metrics: { add: () => undefined }, onWarning: (w) => warnings.push(w.message) });
    const record = (from: number, count: number) =>
      JSON.stringify({ modeltrail: 1, type: 'params', params: Object.fromEntries(Array.from({ length: count }, (_, i) => [`p${from + i}`, i])) });
    reader.onLine(out(record(0, 150)));
    reader.onLine(out(record(150, 100)));
    reader.onLine(out(JSON.stringify({ modeltrail: 1, type: 'params', params: { p0: 'changed' } })));
    expect(Object.keys(reader.params)).toHaveLength(200);
    expect(reader.params.p0).toBe('changed');
    expect(warnings).toEqual([expect.stringMatching(/at most 200 parameters: "p200", .* and 40 more dropped/)]);
  });
});
