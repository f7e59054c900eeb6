import { EventCatalog } from '@modeltrail/contracts';
import { PostgresEventStore } from '@modeltrail/eventstore';
import { checkpointSigner, generateSigningKey, hashFromHex, openCheckpoint, rootFromLeafHashes, verifyConsistency, verifyInclusion } from '@modeltrail/merkle';
import { ident } from '@modeltrail/postgres';
import { migrateReadModel } from '@modeltrail/readmodel';
import { createTestSchema, type TestSchema } from '@modeltrail/testing';
import { lineageMigrations } from '../lineage.migrations';
import { eventLeafHash } from './leaf';
import { MerkleLogBuilder } from './log.builder';
import { MerkleLogTables } from './log.store';
import { MerkleLogViews } from './log.views';

/**
 * The Merkle log against a real PostgreSQL store: every event becomes a leaf in position order,
 * checkpoints are signed, proofs verify with nothing but the checkpoint, and editing, deleting
 * or rewriting stored events (as someone with table access would) is found with its position.
 */
describe('Merkle log over the event store', () => {
  let db: TestSchema;
  let store: PostgresEventStore;
  let tables: MerkleLogTables;
  let builder: MerkleLogBuilder;
  let views: MerkleLogViews;
  const key = generateSigningKey();
  const signer = checkpointSigner('test.modeltrail.local/log', key.seed);
  const ev = (i: number) => ({ type: 'test.Entry.v1', data: { i, note: `entry ${i}` } });

  beforeEach(async () => {
    db = await createTestSchema('mlog');
    store = new PostgresEventStore({ pool: db.pool, connectionString: db.url, schema: db.schema, catalog: new EventCatalog({}, { strict: false }), pollIntervalMs: 50 });
    await store.migrate();
    await migrateReadModel(db.pool, db.schema, 'lineage', lineageMigrations);
    tables = new MerkleLogTables(db.pool, db.schema);
    builder = new MerkleLogBuilder({ store, tables, batchSize: 7, retryDelayMs: 20 });
    views = new MerkleLogViews(tables, builder, store, signer, 'test.modeltrail.local/log');
    await builder.start();
  });

  afterEach(async () => {
    await builder.stop();
    await store.close();
    await db.drop();
  });

  async function appendMany(streams: number, perStream: number): Promise<number> {
    let last = 0;
    for (let s = 0; s < streams; s++) {
      for (let i = 0; i < perStream; i += 3) {
        const result = await store.append(`ledger-${s}`, [i, i + 1, i + 2].filter((n) => n < perStream).map(ev));
        last = result.position;
      }
    }
    return last;
  }

  it('makes every event a leaf in position order, and its proofs verify against the signed checkpoint alone', async () => {
    const last = await appendMany(4, 10);
    await builder.waitFor(last);
    const events = await store.readAll({ limit: 1000 });
    expect(builder.size).toBe(40);

    const checkpoint = await views.publish();
    const opened = openCheckpoint(checkpoint.note, signer.verifierKey);
    expect(opened).toMatchObject({ origin: 'test.modeltrail.local/log', size: 40 });
    expect(opened.root.equals(rootFromLeafHashes(events.map(eventLeafHash)))).toBe(true);

    for (const event of events) {
      const proof = await views.inclusionProof(event.id, null);
      expect(proof.treeSize).toBe(40);
      expect(verifyInclusion(eventLeafHash(event), proof.leafIndex, proof.treeSize, proof.proof.map(hashFromHex), opened.root)).toBe(true);
    }

    // The log only grew: a consistency proof from the first checkpoint to a later one.
    const more = await appendMany(1, 13);
    await builder.waitFor(more);
    const later = await views.publish();
    const laterRoot = openCheckpoint(later.note, signer.verifierKey).root;
    const consistency = await views.consistencyProof(40, later.treeSize);
    expect(verifyConsistency(40, later.treeSize, consistency.proof.map(hashFromHex), opened.root, laterRoot)).toBe(true);
    expect(consistency.fromCheckpoint?.note).toBe(checkpoint.note);

    // A second publication with nothing new makes no new checkpoint when not forced.
    expect((await views.publish(false)).treeSize).toBe(later.treeSize);
    expect((await views.verify()).ok).toBe(true);
  });

  it('refuses proofs it cannot give, naming the problem', async () => {
    const last = await appendMany(1, 5);
    await builder.waitFor(last);
    const [first] = await store.readAll({ limit: 1 });
    await expect(views.inclusionProof(first.id, 6)).rejects.toMatchObject({ code: 'VALIDATION', message: expect.stringMatching(/treeSize 6 is larger than the log, which has 5 leaves/) });
    await expect(views.inclusionProof('0b9a4c52-8f55-4d69-a4a1-6c1f7e1e2f00', 5)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const [, , , , fifth] = await store.readAll({ limit: 5 });
    await expect(views.inclusionProof(fifth.id, 3)).rejects.toMatchObject({ code: 'VALIDATION', message: expect.stringMatching(/leaf 4: it is not in the tree of size 3/) });
    await expect(views.consistencyProof(4, 2)).rejects.toMatchObject({ code: 'VALIDATION', message: expect.stringMatching(/never shrinks/) });
    await expect(views.consistencyProof(0, 2)).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(views.consistencyProof(2, 99)).rejects.toMatchObject({ code: 'VALIDATION', message: expect.stringMatching(/toSize 99 is larger than the log/) });
  });

  it('finds an edited event, a deleted one and a history rewritten from a position on, each with its position', async () => {
    const last = await appendMany(3, 9);
    await builder.waitFor(last);
    await views.publish();
    const events = await store.readAll({ limit: 1000 });
    const s = ident(db.schema);

    // UPDATE of one event's data.
    const edited = events[5];
    await db.pool.query(`UPDATE ${s}.events SET data = $1 WHERE position = $2`, [JSON.stringify({ i: 999 }), edited.position]);
    let report = await views.verify();
    expect(report.ok).toBe(false);
    expect(report.firstBadPosition).toBe(edited.position);
    expect(report.problems).toEqual([expect.objectContaining({ kind: 'ALTERED', position: edited.position, eventId: edited.id })]);

    // DELETE of another.
    const deleted = events[11];
    await db.pool.query(`DELETE FROM ${s}.events WHERE position = $1`, [deleted.position]);
    report = await views.verify();
    expect(report.problems.map((p) => [p.kind, p.position])).toEqual([
      ['ALTERED', edited.position],
      ['MISSING', deleted.position],
    ]);

    // The history from event 20 on deleted and written again (different events after it).
    const from = events[20];
    await db.pool.query(`DELETE FROM ${s}.events WHERE position >= $1`, [from.position]);
    await store.append('forged-1', [ev(1), ev(2)]);
    report = await views.verify();
    expect(report.problems.filter((p) => p.position !== null && p.position >= from.position)[0]).toMatchObject({ kind: 'MISSING', position: from.position, eventId: from.id });
    expect(report.problemCount).toBeGreaterThanOrEqual(2 + (events.length - 20));
  });

  it("finds the log's own tables rewritten, against its signed checkpoints", async () => {
    const last = await appendMany(2, 6);
    await builder.waitFor(last);
    await views.publish();
    // Someone rewrites a leaf hash (and would have to forge the signature to hide it).
    await db.pool.query(`UPDATE ${ident(db.schema)}.log_leaves SET leaf_hash = $1 WHERE leaf_index = 3`, [Buffer.alloc(32, 7)]);
    const report = await views.verify();
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.kind)).toEqual(expect.arrayContaining(['ALTERED', 'CHECKPOINT_MISMATCH']));
    // A checkpoint note edited in the table fails its signature.
    await db.pool.query(`UPDATE ${ident(db.schema)}.log_checkpoints SET note = replace(note, '\n12\n', '\n13\n')`);
    expect((await views.verify()).problems.map((p) => p.kind)).toContain('CHECKPOINT_SIGNATURE');
  });

  it('keeps one tree when two builders follow the same store (replicas take turns)', async () => {
    const other = new MerkleLogBuilder({ store, tables, batchSize: 3, retryDelayMs: 20 });
    await other.start();
    try {
      const last = await appendMany(5, 12);
      await Promise.all([builder.waitFor(last), other.waitFor(last)]);
      const events = await store.readAll({ limit: 1000 });
      expect((await tables.state()).size).toBe(60);
      expect((await tables.rootAt(60)).equals(rootFromLeafHashes(events.map(eventLeafHash)))).toBe(true);
    } finally {
      await other.stop();
    }
  });
});
