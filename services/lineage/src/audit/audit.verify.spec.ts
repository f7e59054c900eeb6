import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { canonicalEvent, canonicalJson, GENESIS_HASH } from '@modeltrail/eventstore';
import { checkpointSigner, generateSigningKey, inclusionProof, leafHash, rootFromLeafHashes, signCheckpoint } from '@modeltrail/merkle';
import { main } from '../../../../infra/scripts/verify-report';
import { renderMarkdown } from './audit.render';
import { AUDIT_REPORT_FORMAT, type AuditEvent, type AuditReport, DIGEST_RULE } from './audit.types';
import { ORIGIN_WARNING, verifyReport } from './audit.verify';

/**
 * The offline verifier, pure: reports built here from events hashed and logged by hand (a tree
 * of their leaves among others, a checkpoint signed with a test key), then tampered with one
 * way at a time. Each failure must say which event, claim or check fails, and why. The CLI is
 * tested through its `main`, and once as the compiled program.
 */

const ORIGIN = 'test.modeltrail.local/log';
const signer = checkpointSigner('test.modeltrail.local/log', generateSigningKey().seed);
const stranger = checkpointSigner('test.modeltrail.local/log', generateSigningKey().seed);

interface Draft {
  stream: string;
  type: string;
  data: unknown;
}

/** A valid report over the given events: chained per stream, logged among filler leaves, proven, signed, digested. */
function makeReport(drafts: Draft[]): AuditReport {
  const heads = new Map<string, { revision: number; hash: string }>();
  const texts: string[] = [];
  const events = drafts.map((d, i) => {
    const head = heads.get(d.stream);
    const revision = head ? head.revision + 1 : 0;
    const prevHash = head ? head.hash : GENESIS_HASH;
    const e = { id: randomUUID(), stream: d.stream, revision, type: d.type, data: d.data, actor: 'ada', correlationId: 'c-1', causationId: null, occurredAt: `2026-11-01T09:0${i}:00.000Z` };
    const text = canonicalEvent(e, prevHash, canonicalJson(d.data));
    const hash = createHash('sha256').update(text).digest('hex');
    heads.set(d.stream, { revision, hash });
    texts.push(text);
    return { e, prevHash, hash, position: 10 * (i + 1) };
  });
  // The log: two filler leaves before each event, three after the last.
  const leaves: Buffer[] = [];
  const leafIndex: number[] = [];
  for (const text of texts) {
    leaves.push(leafHash(`filler ${leaves.length}`), leafHash(`filler ${leaves.length + 1}`));
    leafIndex.push(leaves.length);
    leaves.push(leafHash(Buffer.from(text, 'utf8')));
  }
  leaves.push(leafHash('a'), leafHash('b'), leafHash('c'));
  const size = leaves.length;
  const root = rootFromLeafHashes(leaves);
  const node = (level: number, index: number) => rootFromLeafHashes(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level));
  const note = signCheckpoint({ origin: ORIGIN, size, root, time: new Date('2026-12-02T06:00:00.000Z') }, signer);
  const appendix: AuditEvent[] = events.map(({ e, prevHash, hash, position }, i) => ({
    id: e.id,
    stream: e.stream,
    revision: e.revision,
    position,
    type: e.type,
    data: e.data,
    metadata: { actor: e.actor, correlationId: e.correlationId, causationId: e.causationId, occurredAt: e.occurredAt, prevHash, hash },
    leafIndex: leafIndex[i],
    leafHash: leaves[leafIndex[i]].toString('hex'),
    proof: inclusionProof(leafIndex[i], size, node).map((h) => h.toString('hex')),
  }));
  const evidence = (i: number) => ({ eventId: appendix[i].id, stream: appendix[i].stream, revision: appendix[i].revision, position: appendix[i].position, type: appendix[i].type });
  const report: Omit<AuditReport, 'digest'> = {
    format: AUDIT_REPORT_FORMAT,
    generatedAt: '2026-12-02T06:00:00.000Z',
    position: 10 * drafts.length,
    subject: { modelVersionId: 'mv-1', modelId: 'm-1', modelName: 'churn', version: 1, projectId: 'p-1', projectName: 'churn' },
    frameworks: { modelCard: { source: 'Mitchell et al. 2019', headings: ['Model Details'] }, annexIV: { source: 'Annex IV', points: [{ point: '1(a)', summary: 'intended purpose' }] } },
    sections: [
      {
        id: 'problem',
        title: 'Problem definition',
        modelCard: ['Model Details'],
        annexIV: ['1(a)'],
        claims: appendix.map((_, i) => ({ text: `claim about event ${i}`, evidence: [evidence(i)] })),
        gaps: [{ text: 'The model was never deployed.', evidence: [] }],
      },
    ],
    notCovered: { modelCard: [], annexIV: [] },
    events: appendix,
    log: { origin: ORIGIN, keyName: signer.keyName, publicKey: signer.publicKey.toString('base64'), verifierKey: signer.verifierKey },
    verification: { command: `npm run verify -- report.json --key '${signer.verifierKey}'`, digestRule: DIGEST_RULE },
    checkpoint: { note, treeSize: size, rootHash: root.toString('hex'), madeAt: '2026-12-02T06:00:00.000Z' },
  };
  return { ...report, digest: { algorithm: 'sha256', rule: DIGEST_RULE, value: digestOf(report) } };
}

function digestOf(report: object): string {
  const { digest: _d, ...rest } = report as Record<string, unknown>;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

/** A deep copy, changed by `edit`, with its digest made again (as a forger would), unless told not to. */
function tamper(report: AuditReport, edit: (r: AuditReport) => void, redigest = true): AuditReport {
  const copy = JSON.parse(JSON.stringify(report)) as AuditReport;
  edit(copy);
  if (redigest) copy.digest.value = digestOf(copy);
  return copy;
}

const drafts: Draft[] = [
  { stream: 'project-p1', type: 'experiments.ProjectDefined.v1', data: { projectId: 'p1', name: 'churn', successCriteria: [{ metric: 'auc', threshold: 0.8 }] } },
  { stream: 'run-r1', type: 'experiments.RunStarted.v1', data: { runId: 'r1', params: { lr: 0.01 }, note: 'ünïcödé ✓' } },
  { stream: 'run-r1', type: 'experiments.RunMetricsSummarized.v1', data: { runId: 'r1', metrics: [{ key: 'auc', last: 0.86 }] } },
  { stream: 'run-r1', type: 'experiments.RunCompleted.v1', data: { runId: 'r1' } },
  { stream: 'model-version-v1', type: 'registry.ModelVersionCreated.v1', data: { modelVersionId: 'v1', runId: 'r1' } },
];

describe('verifyReport', () => {
  const good = makeReport(drafts);
  const key = { verifierKey: signer.verifierKey };

  it('passes a valid report, naming every check', () => {
    const result = verifyReport(good, key);
    expect(result.failures).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual([]);
    const names = result.checks.map((c) => c.check);
    expect(names).toEqual(expect.arrayContaining(['shape', 'digest', 'key', 'checkpoint signature', 'evidence', 'chains']));
    for (const e of good.events) for (const what of ['hash', 'leaf', 'inclusion']) expect(names).toContain(`event ${e.id} (${e.stream}@${e.revision}, position ${e.position}) ${what}`);
    expect(result.checks.find((c) => c.check === 'chains')!.detail).toMatch(/2 link\(s\) between consecutive revisions of 3 stream\(s\) hold/);
  });

  it('without a key, checks with the report\'s own and warns that this proves integrity, not origin', () => {
    const result = verifyReport(good, {});
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual([ORIGIN_WARNING]);
    expect(result.checks.find((c) => c.check === 'key')!.detail).toMatch(/^WARNING: NO VERIFIER KEY GIVEN.*NOT that the operator of the log signed it/);
  });

  it('finds edited event data and names the event, expected against found', () => {
    const target = good.events[1];
    const bad = tamper(good, (r) => ((r.events[1].data as { params: { lr: number } }).params.lr = 0.5));
    const result = verifyReport(bad, key);
    expect(result.ok).toBe(false);
    const name = `event ${target.id} (run-r1@0, position ${target.position})`;
    expect(result.failures).toEqual([
      expect.stringMatching(new RegExp(`^${escape(name)} hash: the event's content hashes to [0-9a-f]{64}, its metadata.hash says ${target.metadata.hash}: its data or metadata was changed$`)),
      expect.stringMatching(new RegExp(`^${escape(name)} leaf: SHA-256\\(0x00 ‖ canonical event\\) is [0-9a-f]{64}, the report says leafHash ${target.leafHash}$`)),
      expect.stringMatching(new RegExp(`^${escape(name)} inclusion: leaf ${target.leafIndex} is not proven in the tree of ${good.checkpoint.treeSize} leaves: root mismatch`)),
    ]);
  });

  it('finds an edited proof element', () => {
    const target = good.events[2];
    const bad = tamper(good, (r) => (r.events[2].proof[1] = 'f'.repeat(64)));
    const result = verifyReport(bad, key);
    expect(result.failures).toEqual([expect.stringMatching(new RegExp(`^event ${target.id} \\(run-r1@1, position ${target.position}\\) inclusion: leaf ${target.leafIndex} is not proven .*root mismatch: the proof leads to [0-9a-f]{64}, expected ${good.checkpoint.rootHash}`))]);
    const malformed = verifyReport(
      tamper(good, (r) => (r.events[2].proof[0] = 'xyz')),
      key,
    );
    expect(malformed.failures).toEqual([expect.stringMatching(new RegExp(`^event ${target.id} .* inclusion: its proof holds a malformed hash: a hash must be 64 hex digits, got "xyz"`))]);
  });

  it('finds a changed checkpoint note by its signature, and a checkpoint field that disagrees with the note', () => {
    const bad = tamper(good, (r) => (r.checkpoint.note = r.checkpoint.note.replace(`\n${r.checkpoint.treeSize}\n`, `\n${r.checkpoint.treeSize + 1}\n`)));
    const result = verifyReport(bad, key);
    expect(result.failures[0]).toMatch(/^checkpoint signature: the checkpoint note does not verify with key "test.modeltrail.local\/log": .*signature/);
    // No trusted root: no inclusion is taken as proven.
    expect(result.failures.filter((f) => / inclusion: not checked: the checkpoint did not verify/.test(f))).toHaveLength(good.events.length);
    const sized = verifyReport(
      tamper(good, (r) => (r.checkpoint.rootHash = '0'.repeat(64))),
      key,
    );
    expect(sized.failures).toEqual([`checkpoint signature: the signed note says root ${good.checkpoint.rootHash}, checkpoint.rootHash says ${'0'.repeat(64)}`]);
  });

  it('fails a report signed by another key than the one given', () => {
    expect(verifyReport(good, { verifierKey: stranger.verifierKey }).failures[0]).toMatch(/^checkpoint signature: the checkpoint note does not verify with key "test.modeltrail.local\/log": /);
    // A forger who re-signs with their own key and puts it in the report passes only without --key.
    const forged = tamper(good, (r) => {
      r.checkpoint.note = signCheckpoint({ origin: ORIGIN, size: r.checkpoint.treeSize, root: Buffer.from(r.checkpoint.rootHash, 'hex'), time: new Date() }, stranger);
      r.log.verifierKey = stranger.verifierKey;
    });
    expect(verifyReport(forged, {}).ok).toBe(true);
    expect(verifyReport(forged, key).ok).toBe(false);
  });

  it('finds an event removed that a claim cites, naming the claim', () => {
    const removed = good.events[3];
    const bad = tamper(good, (r) => r.events.splice(3, 1));
    const result = verifyReport(bad, key);
    expect(result.failures).toEqual([`evidence of problem claim 4 ("claim about event 3"): cites event ${removed.id} (run-r1@2), which is not in the report's events`]);
    const moved = verifyReport(
      tamper(good, (r) => (r.sections[0].claims[0].evidence[0].position = 999)),
      key,
    );
    expect(moved.failures).toEqual([`evidence of problem claim 1 ("claim about event 0"): cites event ${good.events[0].id} with position 999, the event has ${good.events[0].position}`]);
  });

  it('finds an edited claim by the digest', () => {
    const bad = tamper(good, (r) => (r.sections[0].claims[0].text = 'The model is fair.'), false);
    const result = verifyReport(bad, key);
    expect(result.failures).toEqual([expect.stringMatching(new RegExp(`^digest: the report's content hashes to [0-9a-f]{64}, its digest says ${good.digest.value}: the report was edited after it was made$`))]);
  });

  it('finds revisions of a stream swapped, naming the events', () => {
    const [a, b] = [good.events[1], good.events[2]];
    const bad = tamper(good, (r) => {
      r.events[1].revision = 1;
      r.events[2].revision = 0;
      for (const c of r.sections[0].claims) for (const e of c.evidence) e.revision = r.events.find((x) => x.id === e.eventId)!.revision;
    });
    const result = verifyReport(bad, key);
    expect(result.ok).toBe(false);
    expect(result.failures).toEqual(
      expect.arrayContaining([
        `chain of run-r1: event ${b.id} is revision 0, but its prevHash is ${b.metadata.prevHash}, not the genesis hash`,
        `chain of run-r1: event ${a.id} (revision 1) has prevHash ${GENESIS_HASH}, but revision 0 (event ${b.id}) has hash ${b.metadata.hash}`,
        expect.stringMatching(new RegExp(`^event ${a.id} \\(run-r1@1, position ${a.position}\\) hash: `)),
      ]),
    );
  });

  it('refuses what is not a report, naming the fields', () => {
    expect(verifyReport('nope', key).failures).toEqual(['shape: the report is not a JSON object']);
    const result = verifyReport(
      tamper(good, (r) => {
        delete (r as Partial<AuditReport>).checkpoint;
        (r.events[0] as Partial<AuditEvent>).proof = undefined;
      }),
      key,
    );
    expect(result.checks).toHaveLength(1);
    expect(result.failures[0]).toMatch(/^shape: checkpoint must have note .*; events\[0\]\.proof must be a list of hex strings$/);
  });
});

describe('npm run verify (infra/scripts/verify-report.ts)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'verify-report-'));
  const good = makeReport(drafts);
  const write = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const run = (argv: string[]) => {
    let out = '';
    let err = '';
    const code = main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
    return { code, out, err };
  };
  const goodPath = write('report.json', JSON.stringify(good, null, 2));
  const badPath = write('bad.json', JSON.stringify(tamper(good, (r) => (r.sections[0].claims[0].text = 'edited'), false)));

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 0 when every check passes, 1 when one fails, printing each check', () => {
    const ok = run([goodPath, '--key', signer.verifierKey]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^ok {3}shape: /m);
    expect(ok.out).toMatch(/^ok {3}checkpoint signature: signed by key/m);
    expect(ok.out).toMatch(/all \d+ checks passed/);
    expect(ok.err).toBe('');
    const bad = run([badPath, '--key', signer.verifierKey]);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/^FAIL digest: the report's content hashes to/m);
    expect(bad.out).toMatch(/1 of \d+ checks FAILED/);
    const json = run([badPath, '--key', signer.verifierKey, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toMatchObject({ ok: false, failures: [expect.stringMatching(/^digest: /)] });
  });

  it('warns loudly without --key', () => {
    const result = run([goodPath]);
    expect(result.code).toBe(0);
    expect(result.err).toMatch(/^WARNING: NO VERIFIER KEY GIVEN/);
  });

  it('exits 2 for usage errors, naming the problem', () => {
    expect(run([])).toMatchObject({ code: 2, err: expect.stringMatching(/^no report file given\nusage: npm run verify -- <report.json>/) });
    expect(run([join(dir, 'missing.json')])).toMatchObject({ code: 2, err: `cannot read ${join(dir, 'missing.json')}: no such file\n` });
    expect(run([write('broken.json', '{"format": ')])).toMatchObject({ code: 2, err: expect.stringMatching(/broken\.json is not valid JSON: /) });
    expect(run([goodPath, '--nope'])).toMatchObject({ code: 2, err: expect.stringMatching(/Unknown option '--nope'/) });
    expect(run([goodPath, goodPath])).toMatchObject({ code: 2, err: expect.stringMatching(/one report file expected, got 2/) });
    expect(run([goodPath, '--key'])).toMatchObject({ code: 2, err: expect.stringMatching(/--key/) });
  });

  it('runs as the compiled program', () => {
    const root = resolve(__dirname, '../../../..');
    const out = join(dir, 'build');
    const config = write(
      'tsconfig.json',
      JSON.stringify({
        extends: join(root, 'tsconfig.build.json'),
        compilerOptions: { outDir: out, rootDir: root, typeRoots: [join(root, 'node_modules/@types')], sourceMap: false },
        include: [],
        files: [join(root, 'infra/scripts/verify-report.ts')],
      }),
    );
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', config], { encoding: 'utf8' });
    expect(tsc.stdout + tsc.stderr).toBe('');
    // What tsc-alias does for `npm run build`: @modeltrail/merkle resolves to the compiled library.
    mkdirSync(join(out, 'node_modules/@modeltrail/merkle'), { recursive: true });
    writeFileSync(join(out, 'node_modules/@modeltrail/merkle/index.js'), "module.exports = require('../../../libs/merkle/src/index.js');\n");
    const cli = join(out, 'infra/scripts/verify-report.js');
    const ok = spawnSync(process.execPath, [cli, goodPath, '--key', signer.verifierKey], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/all \d+ checks passed/);
    const bad = spawnSync(process.execPath, [cli, badPath, '--key', signer.verifierKey], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    const usage = spawnSync(process.execPath, [cli], { encoding: 'utf8' });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/no report file given/);
  }, 60_000);

  it('renders the verification instructions the CLI follows', () => {
    expect(renderMarkdown(good)).toContain(`npm run verify -- report.json --key '${signer.verifierKey}'`);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
