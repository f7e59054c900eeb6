import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Inject, Injectable } from '@nestjs/common';
import type { MikroORM } from '@mikro-orm/postgresql';
import {
  commandScopedId,
  ConflictError,
  type DataFormat,
  type DatasetVersionReply,
  datasetVersionIdFor,
  type datasetsRpc,
  NotFoundError,
  type ValidationReply,
  ValidationError,
  type z,
} from '@modeltrail/contracts';
import { type CommandContext, CommandHandler } from '@modeltrail/decider';
import { EVENT_STORE, type EventStore } from '@modeltrail/eventstore';
import { PROJECTION_RUNNERS, type ProjectionRunner, READ_MODEL_ORM } from '@modeltrail/readmodel';
import { localPath, openTable, ReadableRoots, resolveLocation, type Table } from '@modeltrail/tabular';
import { CLOCK, type Clock } from '../clock';
import { profileFile } from '../data/profile';
import { checkColumns, validateTable } from '../data/validate';
import { datasetDecider, datasetStream } from '../dataset/dataset.decider';
import { type DatasetVersionCommand, type Derivation, type DatasetVersionState, datasetVersionDecider, datasetVersionStream, type OwningDataset, type VersionFacts } from './dataset-version.decider';
import { DatasetValidationRowSchema, DatasetVersionRowSchema } from './dataset-version.entity';
import { datasetsReadModel } from '../datasets.read-model';
import { validationReply, versionReply } from './dataset-version.reply';

/** Injection token of the directories the service may read files from. */
export const READABLE_ROOTS = Symbol('READABLE_ROOTS');

type Req<K extends keyof typeof datasetsRpc> = z.output<(typeof datasetsRpc)[K]['request']>;
type Registered = Extract<DatasetVersionState, { status: 'Registered' }>;

/** A version's facts apart from its id and dataset: what reading (or the caller) says of the bytes. */
export type FileFacts = Omit<VersionFacts, 'datasetVersionId' | 'datasetId'>;

/**
 * The data operations of the datasets context: they read files (outside the pure deciders), then
 * record what they found through the DatasetVersion command loop. Every check that can fail runs
 * before anything is appended, so a refused operation leaves no event behind.
 */
@Injectable()
export class DatasetVersionService {
  private readonly versions: CommandHandler<Parameters<typeof datasetVersionDecider.decide>[0], Parameters<typeof datasetVersionDecider.evolve>[1], DatasetVersionState>;
  private readonly datasets: CommandHandler<Parameters<typeof datasetDecider.decide>[0], Parameters<typeof datasetDecider.evolve>[1], ReturnType<typeof datasetDecider.initialState>>;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(READ_MODEL_ORM) private readonly orm: MikroORM,
    @Inject(PROJECTION_RUNNERS) private readonly runners: ProjectionRunner[],
    @Inject(READABLE_ROOTS) readonly roots: ReadableRoots,
  ) {
    this.versions = new CommandHandler(store, datasetVersionDecider);
    this.datasets = new CommandHandler(store, datasetDecider);
  }

  async register(req: Req<'registerDatasetVersion'>, context: CommandContext): Promise<DatasetVersionReply> {
    const dataset = await this.owningDataset(req.datasetId);
    const facts = await readFacts(req, this.roots);
    return this.record(req.datasetId, facts, null, dataset, context);
  }

  async derive(req: Req<'deriveDatasetVersion'>, context: CommandContext): Promise<DatasetVersionReply> {
    const parents = await this.loadVersions(req.parentVersionIds);
    const datasetId = req.datasetId ?? parents[0].version.datasetId;
    const dataset = await this.owningDataset(datasetId);
    const facts = await readFacts(req, this.roots);
    const derivation: Derivation = { parentVersionIds: [...new Set(req.parentVersionIds)], transform: { kind: 'EXTERNAL', description: req.transform } };
    return this.record(datasetId, facts, derivation, dataset, context);
  }

  async validate(req: Req<'validateDatasetVersion'>, context: CommandContext): Promise<ValidationReply> {
    const [source] = await this.loadVersions([req.datasetVersionId]);
    const path = localPath(source.version.uri, 'validate');
    await this.roots.check(path);
    const columns = (source.version.schema ?? []).map((c) => c.name);
    req.rules.forEach((rule, index) => checkColumns(columns, [rule.column], `rule ${index + 1} (${rule.type})`));
    const report = await readingUnchanged(path, source.version.format, source.version.digest, (table) => validateTable(table, req.rules));
    const validationId = context.commandId ? commandScopedId(context.commandId, 'validation') : randomUUID();
    const command = { type: 'RecordValidation' as const, datasetVersionId: req.datasetVersionId, validationId, rules: req.rules, report, at: this.clock.now() };
    const result = await this.versions.handle(datasetVersionStream(req.datasetVersionId), command, context);
    await this.caughtUp(result.position);
    const row = await this.orm.em.fork().findOne(DatasetValidationRowSchema, { validationId });
    if (!row) throw new Error(`validation ${validationId} was recorded but is missing from the read model`);
    return validationReply(row);
  }

  /** Records on the source version that it was split, and into which versions. */
  async recordSplit(command: Omit<Extract<DatasetVersionCommand, { type: 'RecordSplit' }>, 'type' | 'at'>, context: CommandContext): Promise<void> {
    const result = await this.versions.handle(datasetVersionStream(command.datasetVersionId), { type: 'RecordSplit', ...command, at: this.clock.now() }, context);
    await this.caughtUp(result.position);
  }

  /** Records a version read from `facts` (or finds the one with the same bytes) and answers from the read model. */
  async record(datasetId: string, facts: FileFacts, derivation: Derivation | null, dataset: OwningDataset, context: CommandContext): Promise<DatasetVersionReply> {
    const datasetVersionId = datasetVersionIdFor(datasetId, facts.digest);
    const command = { type: 'RegisterDatasetVersion' as const, version: { datasetVersionId, datasetId, ...facts }, derivation, dataset, at: this.clock.now() };
    const result = await this.versions.handle(datasetVersionStream(datasetVersionId), command, context);
    await this.caughtUp(result.position);
    return this.reply(datasetVersionId);
  }

  async reply(datasetVersionId: string): Promise<DatasetVersionReply> {
    const row = await this.orm.em.fork().findOne(DatasetVersionRowSchema, { datasetVersionId });
    if (!row) throw new NotFoundError(`dataset version ${datasetVersionId} does not exist`, { datasetVersionId });
    return versionReply(row);
  }

  /** Registered versions by id, in the order asked; NOT_FOUND names every id that is not. */
  async loadVersions(ids: string[]): Promise<Registered[]> {
    const states = await Promise.all(ids.map((id) => this.versions.load(datasetVersionStream(id)).then(({ state }) => state)));
    const missing = ids.filter((_, i) => states[i].status === 'Unregistered');
    if (missing.length) {
      throw new NotFoundError(`dataset version${missing.length > 1 ? 's' : ''} ${missing.join(', ')} do${missing.length > 1 ? '' : 'es'} not exist`, { datasetVersionIds: missing });
    }
    return states as Registered[];
  }

  /** The dataset a new version joins; refused early, before any file is read. */
  async owningDataset(datasetId: string): Promise<OwningDataset> {
    const { state } = await this.datasets.load(datasetStream(datasetId));
    if (state.status === 'Unregistered') throw new NotFoundError(`dataset ${datasetId} does not exist`, { datasetId });
    if (state.status === 'Archived') throw new ConflictError(`dataset "${state.name}" is archived: it takes no new versions`, { datasetId });
    return { status: state.status, name: state.name };
  }

  /** Waits until the versions read model has applied `position` (or everything, when a command appended nothing). */
  async caughtUp(position: number | undefined): Promise<void> {
    const runner = this.runners.find((r) => r.name === datasetsReadModel.name);
    if (!runner) throw new Error(`projection ${datasetsReadModel.name} is not running`);
    await runner.waitFor(position ?? (await this.store.headPosition()), 30_000);
  }
}

/** Reads a local file's facts, or takes a remote one's from the caller. */
export async function readFacts(req: { uri: string; format: DataFormat; digest?: string; size?: number }, roots: ReadableRoots): Promise<FileFacts> {
  const location = resolveLocation(req.uri);
  if (location.kind === 'remote') {
    if (!req.digest) throw new ValidationError(`uri "${req.uri}" is remote: give the sha256 digest of its bytes, ModelTrail does not download it`, { field: 'digest' });
    return { uri: location.uri, format: req.format, digest: req.digest, size: req.size ?? null, rows: null, schema: null, profile: null, profiled: false };
  }
  await roots.check(location.path);
  const read = await profileFile(location.path, req.format);
  if (req.digest && req.digest !== read.digest) {
    throw new ValidationError(`digest ${req.digest} does not match the file ${location.path}, whose sha256 is ${read.digest}`, { field: 'digest' });
  }
  if (req.size !== undefined && req.size !== read.size) {
    throw new ValidationError(`size ${req.size} does not match the file ${location.path}, which has ${read.size} bytes`, { field: 'size' });
  }
  return { uri: location.uri, format: req.format, digest: read.digest, size: read.size, rows: read.rows, schema: read.schema, profile: read.profile, profiled: true };
}

/**
 * Runs a one-pass operation over a version's file, hashing the bytes as they are read, and
 * refuses its result when the file is no longer the one registered. Parquet is read by byte
 * ranges rather than start to end, so it is hashed by a read of its own first.
 */
async function readingUnchanged<T>(path: string, format: DataFormat, digest: string, operation: (table: Table) => Promise<T>): Promise<T> {
  if (format === 'PARQUET') {
    await verifyUnchanged(path, digest);
    return operation(await openTable(path, format));
  }
  const hash = createHash('sha256');
  const result = await operation(await openTable(path, format, { onBytes: (chunk) => hash.update(chunk) }));
  changedUnlessSame(path, digest, hash.digest('hex'));
  return result;
}

/** Refuses to work on a file whose bytes are no longer the ones registered. */
export async function verifyUnchanged(path: string, digest: string): Promise<void> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConflictError(`the file of this version, ${path}, cannot be read any more (${code ?? (error as Error).message})`, { path });
  }
  changedUnlessSame(path, digest, hash.digest('hex'));
}

function changedUnlessSame(path: string, digest: string, now: string): void {
  if (now !== digest) {
    throw new ConflictError(`the file ${path} changed since it was registered (sha256 ${digest}, now ${now}): register it as a new version`, { path, digest, now });
  }
}
