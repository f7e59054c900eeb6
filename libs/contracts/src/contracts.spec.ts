import { ConflictError, errorFromPayload, NotFoundError, ValidationError } from './errors';
import { EventCatalog } from './catalog';
import { platformEventCatalog, rpcDefinitions } from './events';
import { isEventTypeName, parseEventType, subjects } from './naming';
import { parseWith, z } from './schema';

describe('event type names', () => {
  it('follow <context>.<EventName>.v<N>', () => {
    expect(parseEventType('datasets.DatasetRegistered.v1')).toEqual({ context: 'datasets', name: 'DatasetRegistered', version: 1 });
    for (const bad of ['DatasetRegistered', 'datasets.datasetRegistered.v1', 'datasets.DatasetRegistered.v0', 'datasets.DatasetRegistered', 'Datasets.X.v1']) {
      expect(isEventTypeName(bad)).toBe(false);
    }
  });

  it('every platform event type follows the convention and has a schema', () => {
    const catalog = platformEventCatalog();
    expect(catalog.types().length).toBeGreaterThan(0);
    for (const type of catalog.types()) expect(isEventTypeName(type)).toBe(true);
  });
});

describe('subjects', () => {
  it('build the subjects of docs/architecture.md: Messaging', () => {
    expect(subjects.command('datasets', 'RegisterDataset')).toBe('mt.cmd.datasets.RegisterDataset');
    expect(subjects.query('experiments', 'Runs')).toBe('mt.qry.experiments.Runs');
    expect(subjects.event('datasets.DatasetRegistered.v1')).toBe('mt.evt.datasets.DatasetRegistered.v1');
    expect(subjects.jobTelemetry('j1', 'metrics')).toBe('mt.telemetry.job.j1.metrics');
  });

  it('the typed subject map holds every rpc under its own subject', () => {
    for (const [subject, def] of Object.entries(rpcDefinitions)) {
      expect(def.subject).toBe(subject);
      expect(subject).toMatch(/^mt\.(cmd|qry)\.[a-z]+\.[A-Z][A-Za-z]+$/);
    }
  });
});

describe('EventCatalog', () => {
  const catalog = () =>
    new EventCatalog({
      'models.ModelRegistered.v1': z.object({ name: z.string(), owner: z.string() }),
      'models.ModelRegistered.v2': z.object({ name: z.string(), owners: z.array(z.string()) }),
      'models.ModelRegistered.v3': z.object({ name: z.string(), owners: z.array(z.string()), tags: z.array(z.string()) }),
    });

  it('validates data and names the failing field', () => {
    expect(() => catalog().validate('models.ModelRegistered.v1', { name: 'churn', owner: 7 })).toThrow(/field "owner"/);
    expect(() => catalog().validate('models.Unknown.v1', {})).toThrow(ValidationError);
    expect(new EventCatalog({}, { strict: false }).validate('models.Unknown.v1', { a: 1 })).toEqual({ a: 1 });
  });

  it('chains upcasters by stored type name', () => {
    const c = catalog()
      .registerUpcaster('models.ModelRegistered.v1', (d) => {
        const v1 = d as { name: string; owner: string };
        return { type: 'models.ModelRegistered.v2', data: { name: v1.name, owners: [v1.owner] } };
      })
      .registerUpcaster('models.ModelRegistered.v2', (d) => ({ type: 'models.ModelRegistered.v3', data: { ...(d as object), tags: [] } }));
    expect(c.upcast({ type: 'models.ModelRegistered.v1', data: { name: 'churn', owner: 'ada' }, position: 4 })).toEqual({
      type: 'models.ModelRegistered.v3',
      data: { name: 'churn', owners: ['ada'], tags: [] },
      position: 4,
    });
    const current = { type: 'models.ModelRegistered.v3', data: { name: 'x', owners: [], tags: [] } };
    expect(c.upcast(current)).toBe(current);
  });

  it('refuses names off the convention and double registrations', () => {
    expect(() => new EventCatalog({ 'ModelRegistered': z.object({}) })).toThrow(/does not follow/);
    expect(() => catalog().register('models.ModelRegistered.v1', z.object({}))).toThrow(/registered twice/);
    expect(() => catalog().registerUpcaster('a.B.v1', (d) => ({ type: 'a.B.v2', data: d })).registerUpcaster('a.B.v1', (d) => ({ type: 'a.B.v2', data: d }))).toThrow(/twice/);
  });
});

describe('parseWith and errors', () => {
  it('lists every failing field with its path', () => {
    const schema = z.object({ resources: z.object({ gpus: z.number().int() }), points: z.array(z.object({ value: z.number() })) });
    let error: unknown;
    try {
      parseWith(schema, { resources: { gpus: 1.5 }, points: [{ value: 1 }, { value: 'x' }] }, 'QueueJob');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/^QueueJob is invalid: field "resources.gpus": .*; field "points\[1\].value": /);
  });

  it('rebuilds the typed error from its payload', () => {
    const rebuilt = errorFromPayload(new NotFoundError('run 7 does not exist', { runId: '7' }).toPayload());
    expect(rebuilt).toBeInstanceOf(NotFoundError);
    expect(rebuilt).toMatchObject({ code: 'NOT_FOUND', message: 'run 7 does not exist', details: { runId: '7' } });
    expect(errorFromPayload({ code: 'CONFLICT', message: 'x' })).toBeInstanceOf(ConflictError);
  });
});
