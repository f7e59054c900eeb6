import 'reflect-metadata';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@modeltrail/config';
import { ConflictError, datasetsRpc, ForbiddenError, NotFoundError, ValidationError } from '@modeltrail/contracts';
import { PostgresEventStore } from '@modeltrail/eventstore';
import { connectBus, type ManagedBus, NatsRpcTransport, type RpcClient } from '@modeltrail/messaging';
import { createPool, ident } from '@modeltrail/postgres';
import { describeOnTestBus, onTestBus, signedRpcClient, TEST_BUS_URL, TEST_DATABASE_URL, uniqueName } from '@modeltrail/testing';
import { DatasetsModule } from './datasets.module';

/** Dataset versions end to end at the service boundary: real files and PostgreSQL, on the test bus (NATS, else the in-process bus). */
describeOnTestBus('datasets service: versions, validation, cleaning and splits', () => {
  const schema = uniqueName('dver');
  const dir = join(tmpdir(), uniqueName('mt-dver')); // made in beforeAll: a skipped suite leaves nothing behind
  const artifactRoot = join(dir, 'artifacts');
  const config = onTestBus(
    loadConfig({
      SERVICE_NAME: 'datasets',
      DATABASE_URL: TEST_DATABASE_URL,
      EVENTSTORE_SCHEMA: schema,
      READ_MODEL_SCHEMA: schema,
      ARTIFACT_ROOT: artifactRoot,
      DATA_ROOTS: dir,
    }),
  );
  let app: INestMicroservice;
  let caller: ManagedBus;
  let rpc: RpcClient;
  const headers = { actor: 'ada@example.com', correlationId: 'corr-versions' };
  const opts = { headers };
  const pool = createPool(TEST_DATABASE_URL, { max: 2 });
  const store = new PostgresEventStore({ pool, connectionString: TEST_DATABASE_URL, schema });

  // 20 rows: id unique, age with 2 missing, plan categorical, churned yes/no; row 20 duplicates row 19.
  const lines = ['id,age,plan,spend,churned'];
  for (let i = 1; i <= 19; i++) lines.push(`${i},${i % 7 === 0 ? '' : 20 + i},${['basic', 'pro', 'team'][i % 3]},${(i * 1.5).toFixed(1)},${i % 4 === 0 ? 'yes' : 'no'}`);
  lines.push(lines[lines.length - 1]);
  const csv = `${lines.join('\n')}\n`;
  const csvPath = join(dir, 'churn.csv');
  const sha = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

  let datasetId: string;
  let rowCount = 0;

  beforeAll(async () => {
    mkdirSync(dir);
    writeFileSync(csvPath, csv);
    app = await NestFactory.createMicroservice(DatasetsModule.forRoot(config), {
      strategy: new NatsRpcTransport({ nats: { url: config.natsUrl, name: 'datasets-versions-test' }, namespace: schema }),
      logger: false,
    });
    await app.listen();
    caller = await connectBus({ url: TEST_BUS_URL, name: 'datasets-versions-caller' });
    rpc = signedRpcClient(caller.nc, { timeoutMs: 20_000, namespace: schema });
    ({ datasetId } = await rpc.request(datasetsRpc.registerDataset, { name: 'churn', description: 'customer churn' }, opts));
  });
  afterAll(async () => {
    await app.close();
    await caller.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
    await pool.end();
    rmSync(dir, { recursive: true, force: true });
  });

  const eventCount = async () => (await store.readAll()).length;

  it('reads a local CSV: digest, size, rows, schema and profile; the same bytes again are the same version', async () => {
    const version = await rpc.request(datasetsRpc.registerDatasetVersion, { datasetId, uri: csvPath, format: 'CSV' }, opts);
    rowCount = version.rows!;
    expect(version).toMatchObject({ datasetId, version: 1, uri: `file://${csvPath}`, digest: sha(csv), size: Buffer.byteLength(csv), rows: 20, profiled: true, parentVersionIds: [], transform: null, registeredBy: 'ada@example.com' });
    expect(version.schema).toEqual([
      { name: 'id', type: 'INTEGER', nullable: false },
      { name: 'age', type: 'INTEGER', nullable: true },
      { name: 'plan', type: 'STRING', nullable: false },
      { name: 'spend', type: 'NUMBER', nullable: false },
      { name: 'churned', type: 'STRING', nullable: false },
    ]);
    const age = version.profile!.columns.find((c) => c.name === 'age')!;
    expect(age).toMatchObject({ count: 18, missing: 2, numeric: { min: 21, max: 39 } });
    expect(age.numeric!.histogram.reduce((sum, bin) => sum + bin.count, 0)).toBe(18);
    const plan = version.profile!.columns.find((c) => c.name === 'plan')!;
    expect(plan.categorical!.topValues.reduce((sum, v) => sum + v.count, 0)).toBe(20);

    const before = await eventCount();
    const again = await rpc.request(datasetsRpc.registerDatasetVersion, { datasetId, uri: `file://${csvPath}`, format: 'CSV' }, opts);
    expect(again.datasetVersionId).toBe(version.datasetVersionId);
    expect(await eventCount()).toBe(before);
    const listed = await rpc.request(datasetsRpc.listDatasetVersions, { datasetId }, opts);
    expect(listed.items.map((v) => v.datasetVersionId)).toEqual([version.datasetVersionId]);
  });

  it('records a remote URI with the caller’s digest, unprofiled, and refuses one without', async () => {
    const digest = 'b'.repeat(64);
    const remote = await rpc.request(datasetsRpc.registerDatasetVersion, { datasetId, uri: 's3://bucket/churn.parquet', format: 'PARQUET', digest: `sha256:${digest}`, size: 10 }, opts);
    expect(remote).toMatchObject({ digest, size: 10, rows: null, schema: null, profile: null, profiled: false, version: 2 });
    await expect(rpc.request(datasetsRpc.registerDatasetVersion, { datasetId, uri: 's3://bucket/other.parquet', format: 'PARQUET' }, opts)).rejects.toThrow(
      /is remote: give the sha256 digest/,
    );
    await expect(rpc.request(datasetsRpc.validateDatasetVersion, { datasetVersionId: remote.datasetVersionId, rules: [{ type: 'NOT_NULL', column: 'x' }] }, opts)).rejects.toThrow(
      'cannot validate a remote dataset version (s3://bucket/churn.parquet)',
    );
  });

  it('refuses bad registrations with a clear error and writes nothing', async () => {
    const before = await eventCount();
    const missing = join(dir, 'nope.csv');
    const ragged = join(dir, 'ragged.csv');
    writeFileSync(ragged, 'a,b,c\n1,2,3\n4,5\n');
    await expect(rpc.request(datasetsRpc.registerDatasetVersion, { datasetId, uri: missing, format: 'CSV' }, opts)).rejects.toThrow(ValidationError);
    await expect(rpc.request(datasetsRpc.registerDatasetVersion, { datasetId, uri: missing, format: 'CSV' }, opts)).rejects.toThrow(missing);
    await expect(rpc.request(datasetsRpc.registerDatasetVersion, { datasetId, uri: ragged, format: 'CSV' }, opts)).rejects.toThrow(/row 2 \(line 3\) has 2 fields, the header has 3/);
    await expect(rpc.request(datasetsRpc.registerDatasetVersion, { datasetId, uri: 'data/churn.csv', format: 'CSV' }, opts)).rejects.toThrow(/relative path/);
    await expect(rpc.request(datasetsRpc.registerDatasetVersion, { datasetId, uri: csvPath, format: 'CSV', digest: 'c'.repeat(64) }, opts)).rejects.toThrow(/does not match the file/);
    await expect(rpc.request(datasetsRpc.registerDatasetVersion, { datasetId: randomUUID(), uri: csvPath, format: 'CSV' }, opts)).rejects.toBeInstanceOf(NotFoundError);
    expect(await eventCount()).toBe(before);
  });

  it('validates with every rule kind and keeps each report as an event', async () => {
    const [version] = (await rpc.request(datasetsRpc.listDatasetVersions, { datasetId }, opts)).items.filter((v) => v.profiled);
    const report = await rpc.request(
      datasetsRpc.validateDatasetVersion,
      {
        datasetVersionId: version.datasetVersionId,
        rules: [
          { type: 'NOT_NULL', column: 'age' },
          { type: 'RANGE', column: 'spend', min: 0, max: 25 },
          { type: 'ALLOWED_VALUES', column: 'plan', values: ['basic', 'pro', 'team'] },
          { type: 'UNIQUE', column: 'id' },
          { type: 'REGEX', column: 'churned', pattern: 'yes|no' },
          { type: 'MAX_MISSING_FRACTION', column: 'age', fraction: 0.2 },
        ],
      },
      opts,
    );
    expect(report.passed).toBe(false);
    expect(report.rowsChecked).toBe(rowCount);
    expect(report.results.map((r) => [r.rule.type, r.passed, r.failingRows, r.exampleRows])).toEqual([
      ['NOT_NULL', false, 2, [7, 14]],
      ['RANGE', false, 4, [17, 18, 19, 20]],
      ['ALLOWED_VALUES', true, 0, []],
      ['UNIQUE', false, 1, [20]],
      ['REGEX', true, 0, []],
      ['MAX_MISSING_FRACTION', true, 2, [7, 14]],
    ]);
    expect(report.validatedBy).toBe('ada@example.com');
    const history = await store.readStream(`dataset-version-${version.datasetVersionId}`);
    expect(history.map((e) => e.type)).toEqual(['datasets.DatasetVersionRegistered.v1', 'datasets.DatasetValidated.v1']);
    const listed = await rpc.request(datasetsRpc.listValidations, { datasetVersionIds: [version.datasetVersionId, randomUUID()] }, opts);
    expect(listed.items.map((v) => v.validationId)).toEqual([report.validationId]);
  });

  it('refuses a rule on a column that does not exist, naming it, and records nothing', async () => {
    const [version] = (await rpc.request(datasetsRpc.listDatasetVersions, { datasetId }, opts)).items.filter((v) => v.profiled);
    const before = await eventCount();
    const error = await rpc
      .request(datasetsRpc.validateDatasetVersion, { datasetVersionId: version.datasetVersionId, rules: [{ type: 'NOT_NULL', column: 'id' }, { type: 'RANGE', column: 'agee', min: 0 }] }, opts)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/rule 2 \(RANGE\).*"agee"/);
    expect(await eventCount()).toBe(before);
  });

  it('cleans into a content-addressed file registered as a version derived from its input', async () => {
    const [source] = (await rpc.request(datasetsRpc.listDatasetVersions, { datasetId }, opts)).items.filter((v) => v.profiled && v.parentVersionIds.length === 0);
    const steps = [
      { type: 'DROP_DUPLICATES' as const, columns: [] },
      { type: 'FILL_MISSING' as const, column: 'age', strategy: 'MEDIAN' as const },
      { type: 'DROP_COLUMNS' as const, columns: ['spend'] },
    ];
    const cleaned = await rpc.request(datasetsRpc.cleanDatasetVersion, { datasetVersionId: source.datasetVersionId, steps }, opts);
    expect(cleaned).toMatchObject({ rows: 19, parentVersionIds: [source.datasetVersionId], transform: { kind: 'CLEAN', steps } });
    expect(cleaned.schema!.map((c) => c.name)).toEqual(['id', 'age', 'plan', 'churned']);
    expect(cleaned.schema!.find((c) => c.name === 'age')!.nullable).toBe(false);
    const path = new URL(cleaned.uri).pathname;
    expect(path.startsWith(join(artifactRoot, 'sha256', cleaned.digest.slice(0, 2)))).toBe(true);
    expect(sha(readFileSync(path))).toBe(cleaned.digest);
    expect((await store.readStream(`dataset-version-${cleaned.datasetVersionId}`)).map((e) => e.type)).toEqual([
      'datasets.DatasetVersionRegistered.v1',
      'datasets.DatasetVersionDerived.v1',
    ]);
  });

  it('refuses a cast that fails part-way, leaving no file and no event', async () => {
    const [source] = (await rpc.request(datasetsRpc.listDatasetVersions, { datasetId }, opts)).items.filter((v) => v.profiled && v.parentVersionIds.length === 0);
    const before = await eventCount();
    const error = await rpc.request(datasetsRpc.cleanDatasetVersion, { datasetVersionId: source.datasetVersionId, steps: [{ type: 'CAST', column: 'plan', to: 'INTEGER' }] }, opts).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/plan/);
    expect(await eventCount()).toBe(before);
  });

  it('splits deterministically by seed with stratification, each part a derived version, recorded on the source', async () => {
    const [source] = (await rpc.request(datasetsRpc.listDatasetVersions, { datasetId }, opts)).items.filter((v) => v.profiled && v.parentVersionIds.length === 0);
    const request = { datasetVersionId: source.datasetVersionId, train: 0.6, validation: 0.2, test: 0.2, seed: 7, stratifyBy: 'churned' };
    const split = await rpc.request(datasetsRpc.splitDatasetVersion, request, opts);
    expect(split.train.rows! + split.validation.rows! + split.test.rows!).toBe(rowCount);
    expect(split.train.rows).toBe(12);
    for (const part of [split.train, split.validation, split.test]) {
      expect(part).toMatchObject({ parentVersionIds: [source.datasetVersionId], transform: { kind: 'SPLIT', splitId: split.splitId, seed: 7, stratifyBy: 'churned' } });
    }
    const again = await rpc.request(datasetsRpc.splitDatasetVersion, request, opts);
    expect([again.splitId, again.train.digest, again.test.digest]).toEqual([split.splitId, split.train.digest, split.test.digest]);
    const other = await rpc.request(datasetsRpc.splitDatasetVersion, { ...request, seed: 8 }, opts);
    expect(other.train.digest).not.toBe(split.train.digest);
    const created = (await store.readStream(`dataset-version-${source.datasetVersionId}`)).filter((e) => e.type === 'datasets.DatasetSplitCreated.v1');
    expect(created).toHaveLength(2);
  });

  it('refuses fractions that do not sum to 1 and an unknown stratify column, writing nothing', async () => {
    const [source] = (await rpc.request(datasetsRpc.listDatasetVersions, { datasetId }, opts)).items.filter((v) => v.profiled && v.parentVersionIds.length === 0);
    const before = await eventCount();
    await expect(rpc.request(datasetsRpc.splitDatasetVersion, { datasetVersionId: source.datasetVersionId, train: 0.7, validation: 0.2, test: 0.2, seed: 1 }, opts)).rejects.toThrow(
      /fractions must sum to 1/,
    );
    await expect(
      rpc.request(datasetsRpc.splitDatasetVersion, { datasetVersionId: source.datasetVersionId, train: 0.8, validation: 0.1, test: 0.1, seed: 1, stratifyBy: 'region' }, opts),
    ).rejects.toThrow(/region/);
    expect(await eventCount()).toBe(before);
  });

  it('derives a version from data prepared elsewhere, recording parents and transform', async () => {
    const [source] = (await rpc.request(datasetsRpc.listDatasetVersions, { datasetId }, opts)).items.filter((v) => v.profiled && v.parentVersionIds.length === 0);
    const outside = join(dir, 'features.jsonl');
    writeFileSync(outside, '{"id":1,"tenure":3}\n{"id":2,"tenure":null}\n');
    const derived = await rpc.request(datasetsRpc.deriveDatasetVersion, { parentVersionIds: [source.datasetVersionId], uri: outside, format: 'JSONL', transform: 'feature engineering in Spark job fe-12' }, opts);
    expect(derived).toMatchObject({ datasetId, rows: 2, format: 'JSONL', parentVersionIds: [source.datasetVersionId], transform: { kind: 'EXTERNAL', description: 'feature engineering in Spark job fe-12' } });
    const missing = randomUUID();
    await expect(rpc.request(datasetsRpc.deriveDatasetVersion, { parentVersionIds: [missing], uri: outside, format: 'JSONL', transform: 'x' }, opts)).rejects.toThrow(
      `dataset version ${missing} does not exist`,
    );
  });

  it('refuses to read a file outside DATA_ROOTS, even through a symbolic link, and writes nothing', async () => {
    const before = await eventCount();
    await expect(rpc.request(datasetsRpc.registerDatasetVersion, { datasetId, uri: '/etc/passwd', format: 'CSV' }, opts)).rejects.toThrow(
      /may not read \/etc\/passwd: it is outside the directories it reads from \(DATA_ROOTS: /,
    );
    const link = join(dir, 'passwd-link.csv');
    symlinkSync('/etc/passwd', link);
    await expect(rpc.request(datasetsRpc.registerDatasetVersion, { datasetId, uri: link, format: 'CSV' }, opts)).rejects.toBeInstanceOf(ForbiddenError);
    expect(await eventCount()).toBe(before);
  });

  it('refuses to work on a file that changed since it was registered', async () => {
    const path = join(dir, 'mutable.csv');
    writeFileSync(path, 'a,b\n1,2\n');
    const version = await rpc.request(datasetsRpc.registerDatasetVersion, { datasetId, uri: path, format: 'CSV' }, opts);
    writeFileSync(path, 'a,b\n1,3\n');
    const error = await rpc.request(datasetsRpc.validateDatasetVersion, { datasetVersionId: version.datasetVersionId, rules: [{ type: 'NOT_NULL', column: 'a' }] }, opts).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toMatch(/changed since it was registered/);
  });

  it('answers batch lookups with the ids it knows', async () => {
    const { items } = await rpc.request(datasetsRpc.listDatasetVersions, { datasetId, first: 2 }, opts);
    const found = await rpc.request(datasetsRpc.getDatasetVersions, { datasetVersionIds: [...items.map((v) => v.datasetVersionId), randomUUID()] }, opts);
    expect(found.items.map((v) => v.datasetVersionId).sort()).toEqual(items.map((v) => v.datasetVersionId).sort());
    const datasets = await rpc.request(datasetsRpc.getDatasets, { datasetIds: [datasetId, randomUUID()] }, opts);
    expect(datasets.items.map((d) => d.datasetId)).toEqual([datasetId]);
  });
});
