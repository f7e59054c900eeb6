import { createHash } from 'node:crypto';
import { type EventMap, type EventType, InternalError, MODEL_CARD_FIELDS, NotFoundError, UnavailableError, ValidationError } from '@modeltrail/contracts';
import { canonicalJson, type EventStore, eventHash, type RecordedEvent } from '@modeltrail/eventstore';
import { hashToHex } from '@modeltrail/merkle';
import type { LineageViews } from '../graph/lineage.views';
import { eventLeafHash } from '../log/leaf';
import type { MerkleLogTables } from '../log/log.store';
import type { MerkleLogViews } from '../log/log.views';
import { ANNEX_IV_ORDER, ANNEX_IV_POINTS, ANNEX_IV_SOURCE, type AnnexIvPoint, MODEL_CARD_HEADINGS, MODEL_CARD_SOURCE, type ModelCardHeading } from './audit.frameworks';
import { verifyReport } from './audit.verify';
import { AUDIT_REPORT_FORMAT, type AuditEvent, type AuditReport, type AuditSection, type AuditSectionId, type Claim, DIGEST_RULE, type Evidence } from './audit.types';

export * from './audit.types';

type Ev<K extends EventType> = RecordedEvent<K, EventMap[K]>;

/** Measurements of a monitor cited besides those that caused something: the latest of each kind. */
const LATEST_MEASUREMENTS = 1;

/** What each section serves, in both frameworks. */
const SECTION_MAP: Record<AuditSectionId, { title: string; modelCard: ModelCardHeading[]; annexIV: AnnexIvPoint[] }> = {
  problem: { title: 'Problem definition and success criteria', modelCard: ['Model Details', 'Intended Use', 'Metrics'], annexIV: ['1(a)', '2(b)', '4'] },
  data: { title: 'Data: versions, digests, profiles, validations, cleaning and splits', modelCard: ['Training Data', 'Evaluation Data', 'Factors'], annexIV: ['2(d)', '2(g)'] },
  training: { title: 'Training: runs, parameters, code, jobs, agents and GPUs, metrics', modelCard: ['Model Details', 'Training Data', 'Metrics'], annexIV: ['1(c)', '2(a)', '2(b)', '2(c)'] },
  model: { title: 'Model version and model card', modelCard: ['Model Details', 'Intended Use', 'Ethical Considerations', 'Caveats and Recommendations'], annexIV: ['1(a)', '3'] },
  evaluation: { title: 'Evaluation against the success criteria', modelCard: ['Metrics', 'Evaluation Data', 'Quantitative Analyses'], annexIV: ['2(g)', '3', '4'] },
  approvals: { title: 'Approvals: promotion gates, decisions and actors', modelCard: ['Caveats and Recommendations'], annexIV: ['1(a)', '2(g)', '6'] },
  deployment: { title: 'Deployment and monitoring: drift, alerts, retraining', modelCard: ['Quantitative Analyses', 'Caveats and Recommendations'], annexIV: ['1(d)', '3', '6', '9'] },
};
const SECTION_ORDER: AuditSectionId[] = ['problem', 'data', 'training', 'model', 'evaluation', 'approvals', 'deployment'];

const CARD_HEADING: Record<(typeof MODEL_CARD_FIELDS)[number], string> = {
  intendedUse: 'Intended Use',
  limitations: 'Caveats and Recommendations (limitations)',
  evaluationData: 'Evaluation Data',
  ethicalConsiderations: 'Ethical Considerations',
  caveats: 'Caveats and Recommendations',
};

/**
 * Audit reports of model versions: every stage of a version's lifecycle as claims that cite the
 * events they rest on, gaps said in sentences, and each cited event in full with its inclusion
 * proof against one signed checkpoint of the Merkle log, so that the report verifies offline
 * (audit.verify.ts, `npm run verify`).
 *
 * The events come from the causal explanation of the version (LineageViews.explain), read in
 * full from their streams, plus what those same streams hold about the version's data and
 * monitor that the explanation leaves out (validations of its dataset versions, the latest
 * drift and performance windows). Nothing newer than the explanation's position is cited.
 */
export class AuditReports {
  constructor(
    private readonly views: LineageViews,
    private readonly store: EventStore,
    private readonly log: MerkleLogViews,
    private readonly tables: MerkleLogTables,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async report(modelVersionId: string): Promise<AuditReport> {
    const explained = await this.views.explain({ id: modelVersionId, asOf: null });
    if (explained.subject.kind !== 'model_version') {
      throw new ValidationError(`${modelVersionId} is a ${explained.subject.kind}, not a model version: audit reports are made for model versions`, { field: 'modelVersionId' });
    }
    const position = explained.position;
    const streams = [...new Set(explained.steps.map((s) => s.stream))];
    const read = await Promise.all(streams.map((stream) => this.store.readStream(stream)));
    const inStreams = read.flat().filter((e) => e.position <= position);
    const byId = new Map(inStreams.map((e) => [e.id, e]));
    const steps = explained.steps.map((s) => {
      const event = byId.get(s.eventId);
      if (!event) throw new Error(`event ${s.eventId} (${s.stream}@${s.revision}) of the explanation is not in its stream: the store and the lineage graph disagree`);
      return event;
    });
    const facts = new Facts(modelVersionId, steps, inStreams);
    const sections = new SectionBuilder(facts).build();

    const cited = new Map<string, RecordedEvent>();
    for (const section of sections) for (const c of [...section.claims, ...section.gaps]) for (const e of c.evidence) cited.set(e.eventId, byId.get(e.eventId)!);
    const events = [...cited.values()].sort((a, b) => a.position - b.position);
    const appendix = await this.prove(events);

    const key = this.log.publicKey();
    const covered = { modelCard: new Set(sections.flatMap((s) => s.modelCard)), annexIV: new Set(sections.flatMap((s) => s.annexIV)) };
    const mv = facts.versionCreated;
    const project = facts.project;
    const { checkpoint, proven } = appendix;
    const body: Omit<AuditReport, 'digest'> = {
      format: AUDIT_REPORT_FORMAT,
      generatedAt: this.now().toISOString(),
      position,
      subject: {
        modelVersionId,
        modelId: mv.data.modelId,
        modelName: facts.model?.data.name ?? null,
        version: mv.data.version,
        projectId: mv.data.projectId,
        projectName: project?.data.name ?? null,
      },
      frameworks: {
        modelCard: { source: MODEL_CARD_SOURCE, headings: [...MODEL_CARD_HEADINGS] },
        annexIV: { source: ANNEX_IV_SOURCE, points: ANNEX_IV_ORDER.map((point) => ({ point, summary: ANNEX_IV_POINTS[point] })) },
      },
      sections,
      notCovered: {
        modelCard: MODEL_CARD_HEADINGS.filter((h) => !covered.modelCard.has(h)),
        annexIV: ANNEX_IV_ORDER.filter((p) => !covered.annexIV.has(p)),
      },
      events: proven,
      log: { origin: key.origin, keyName: key.keyName, publicKey: key.publicKey, verifierKey: key.verifierKey },
      verification: { command: `npm run verify -- report.json --key '${key.verifierKey}'`, digestRule: DIGEST_RULE },
      checkpoint: { note: checkpoint.note, treeSize: checkpoint.treeSize, rootHash: checkpoint.rootHash, madeAt: checkpoint.madeAt },
    };
    const report: AuditReport = { ...body, digest: { algorithm: 'sha256', rule: DIGEST_RULE, value: reportDigest(body) } };
    // The report is checked as an auditor will check it before anyone gets it.
    const check = verifyReport(report, { verifierKey: key.verifierKey });
    if (!check.ok) throw new InternalError(`the audit report of model version ${modelVersionId} does not verify: ${check.failures.slice(0, 5).join('; ')}`);
    return report;
  }

  /**
   * The cited events with their leaves and proofs against one fresh checkpoint. Refuses (rather
   * than issue a report that would not verify) when an event's stored hash is not the hash of
   * what the store returns, when the log has not logged an event yet, or when its logged leaf
   * differs from the event.
   */
  private async prove(events: RecordedEvent[]): Promise<{ checkpoint: Awaited<ReturnType<MerkleLogViews['publish']>>; proven: AuditEvent[] }> {
    for (const e of events) {
      const recomputed = eventHash({ ...e, ...e.metadata }, e.metadata.prevHash);
      if (recomputed !== e.metadata.hash) {
        throw new InternalError(`event ${e.id} (${e.stream}@${e.revision}) does not hash to its stored hash (${recomputed} ≠ ${e.metadata.hash}): it was altered or upcast on read, and a report citing it would not verify`, { eventId: e.id, position: e.position });
      }
    }
    const leaves = await this.tables.leavesOfEvents(events.map((e) => e.id));
    const leafOf = new Map(leaves.map((l) => [l.eventId, l]));
    const missing = events.filter((e) => !leafOf.has(e.id));
    if (missing.length > 0) {
      const { position } = await this.tables.state();
      const first = missing[0];
      throw new UnavailableError(
        `the Merkle log has not logged ${missing.length} cited event(s) yet (first: ${first.id}, ${first.stream}@${first.revision}, position ${first.position}; the log has reached position ${position}): their inclusion cannot be proven. Try again once the log has caught up`,
        { eventId: first.id, position: first.position, logPosition: position },
      );
    }
    for (const e of events) {
      const leaf = leafOf.get(e.id)!;
      if (!eventLeafHash(e).equals(leaf.leafHash)) {
        throw new InternalError(`event ${e.id} (${e.stream}@${e.revision}, position ${e.position}) is not the event the log logged as leaf ${leaf.leafIndex}: the store was changed after it was logged`, { eventId: e.id, position: e.position, leafIndex: leaf.leafIndex });
      }
    }
    // A checkpoint of the log as it stands: it covers every leaf just read.
    const checkpoint = await this.log.publish();
    const last = Math.max(-1, ...leaves.map((l) => l.leafIndex));
    if (checkpoint.treeSize <= last) throw new Error(`the checkpoint of size ${checkpoint.treeSize} does not cover leaf ${last}`);
    const proofs = leaves.length > 0 ? await this.log.inclusionProofs(leaves, checkpoint.treeSize) : [];
    const proofOf = new Map(proofs.map((p) => [p.eventId, p]));
    const proven = events.map((e): AuditEvent => {
      const leaf = leafOf.get(e.id)!;
      const proof = proofOf.get(e.id)!;
      if (proof.rootHash !== checkpoint.rootHash) throw new Error(`the proof of event ${e.id} leads to ${proof.rootHash}, the checkpoint says ${checkpoint.rootHash}`);
      const m = e.metadata;
      return {
        id: e.id,
        stream: e.stream,
        revision: e.revision,
        position: e.position,
        type: e.type,
        data: e.data,
        metadata: { actor: m.actor, correlationId: m.correlationId, causationId: m.causationId, occurredAt: m.occurredAt, prevHash: m.prevHash, hash: m.hash },
        leafIndex: leaf.leafIndex,
        leafHash: hashToHex(leaf.leafHash),
        proof: proof.proof,
      };
    });
    return { checkpoint, proven };
  }
}

/** The report's digest: SHA-256 (hex) over canonicalJson of the report without `digest`. */
export function reportDigest(report: object): string {
  const { digest: _digest, ...rest } = report as Record<string, unknown>;
  return createHash('sha256').update(canonicalJson(rest), 'utf8').digest('hex');
}

// ---------------------------------------------------------------------------------------------
// The events of one version's story, by what they are about
// ---------------------------------------------------------------------------------------------

class Facts {
  readonly all: RecordedEvent[];
  readonly versionCreated: Ev<'registry.ModelVersionCreated.v1'>;

  constructor(
    readonly modelVersionId: string,
    steps: RecordedEvent[],
    streams: RecordedEvent[],
  ) {
    const created = steps.find((e) => e.type === 'registry.ModelVersionCreated.v1' && (e.data as { modelVersionId: string }).modelVersionId === modelVersionId);
    if (!created) throw new NotFoundError(`model version ${modelVersionId} has no ModelVersionCreated event in the store`, { modelVersionId });
    this.versionCreated = created as Ev<'registry.ModelVersionCreated.v1'>;
    // What the explanation leaves out but the same streams hold: validations and splits of the
    // version's data, and the monitor's windows.
    const dvs = new Set(steps.filter((e) => e.type === 'datasets.DatasetVersionRegistered.v1').map((e) => (e.data as { datasetVersionId: string }).datasetVersionId));
    const monitors = new Set(steps.filter((e) => e.type === 'monitoring.MonitorCreated.v1').map((e) => (e.data as { monitorId: string }).monitorId));
    const extra = streams.filter((e) => {
      const d = e.data as Record<string, unknown>;
      // (a derivation is about no node of the graph: it draws edges only)
      if (e.type === 'datasets.DatasetValidated.v1' || e.type === 'datasets.DatasetSplitCreated.v1' || e.type === 'datasets.DatasetVersionDerived.v1') return dvs.has(d.datasetVersionId as string);
      return false;
    });
    for (const kind of ['monitoring.DriftMeasured.v1', 'monitoring.PerformanceMeasured.v1']) {
      const windows = streams.filter((e) => e.type === kind && monitors.has((e.data as { monitorId: string }).monitorId));
      extra.push(...windows.slice(-LATEST_MEASUREMENTS));
    }
    const unique = new Map([...steps, ...extra].map((e) => [e.id, e]));
    this.all = [...unique.values()].sort((a, b) => a.position - b.position);
  }

  of<K extends EventType>(type: K, where: (d: EventMap[K]) => boolean = () => true): Ev<K>[] {
    return this.all.filter((e) => e.type === type && where(e.data as EventMap[K])) as Ev<K>[];
  }

  one<K extends EventType>(type: K, where: (d: EventMap[K]) => boolean = () => true): Ev<K> | undefined {
    return this.of(type, where)[0];
  }

  last<K extends EventType>(type: K, where: (d: EventMap[K]) => boolean = () => true): Ev<K> | undefined {
    const found = this.of(type, where);
    return found[found.length - 1];
  }

  get project(): Ev<'experiments.ProjectDefined.v1'> | undefined {
    return this.one('experiments.ProjectDefined.v1', (d) => d.projectId === this.versionCreated.data.projectId);
  }

  get model(): Ev<'registry.ModelRegistered.v1'> | undefined {
    return this.one('registry.ModelRegistered.v1', (d) => d.modelId === this.versionCreated.data.modelId);
  }
}

function cite(...events: Array<RecordedEvent | undefined>): Evidence[] {
  return events.filter((e): e is RecordedEvent => e !== undefined).map((e) => ({ eventId: e.id, stream: e.stream, revision: e.revision, position: e.position, type: e.type }));
}

const claim = (text: string, ...events: Array<RecordedEvent | undefined>): Claim => ({ text, evidence: cite(...events) });
const list = (xs: ReadonlyArray<string>, max = 12): string => (xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')} and ${xs.length - max} more`);
const by = (e: RecordedEvent): string => `${e.metadata.actor} at ${e.metadata.occurredAt}`;
const fmt = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

class SectionBuilder {
  private readonly sections = new Map<AuditSectionId, AuditSection>();

  constructor(private readonly f: Facts) {
    for (const id of SECTION_ORDER) {
      const m = SECTION_MAP[id];
      this.sections.set(id, { id, title: m.title, modelCard: [...m.modelCard], annexIV: [...m.annexIV], claims: [], gaps: [] });
    }
  }

  private claim(id: AuditSectionId, text: string, ...events: Array<RecordedEvent | undefined>): void {
    this.sections.get(id)!.claims.push(claim(text, ...events));
  }

  private gap(id: AuditSectionId, text: string, ...events: Array<RecordedEvent | undefined>): void {
    this.sections.get(id)!.gaps.push(claim(text, ...events));
  }

  build(): AuditSection[] {
    this.problem();
    this.data();
    this.training();
    this.model();
    this.evaluation();
    this.approvals();
    this.deployment();
    return SECTION_ORDER.map((id) => this.sections.get(id)!);
  }

  private get mv() {
    return this.f.versionCreated;
  }

  private problem(): void {
    const p = this.f.project;
    if (!p) {
      this.gap('problem', `The project ${this.mv.data.projectId} of this model version has no ProjectDefined event: the problem, task type, target and success criteria are not recorded.`);
      return;
    }
    const d = p.data;
    this.claim('problem', `Project "${d.name}" (${d.projectId}) was defined by ${by(p)}: ${d.problem || '(no problem statement)'}`, p);
    this.claim('problem', `Task type ${d.taskType}${d.target ? `, target variable "${d.target}"` : ', no target variable'}.`, p);
    if (!d.problem.trim()) this.gap('problem', `The project "${d.name}" has an empty problem statement: the intended purpose is not described.`, p);
    if (d.successCriteria.length === 0) this.gap('problem', `The project "${d.name}" defines no success criteria: nothing says what performance is good enough.`, p);
    else this.claim('problem', `Success criteria: ${d.successCriteria.map((c) => `${c.metric} ${c.direction === 'MAXIMIZE' ? '≥' : '≤'} ${c.threshold}`).join('; ')}.`, p);
  }

  /** Dataset versions the version was trained and evaluated on, with their roles. */
  private get used() {
    return this.mv.data.datasetVersions;
  }

  private data(): void {
    const mv = this.mv;
    if (this.used.length === 0) this.gap('data', `Model version ${mv.data.version} records no dataset versions: its training and evaluation data are unknown.`, mv);
    const seen = new Set<string>();
    const splits = new Set<string>();
    const describe = (dvId: string, role: string | null, depth: number): void => {
      if (seen.has(dvId) || depth > 10) return;
      seen.add(dvId);
      const reg = this.f.one('datasets.DatasetVersionRegistered.v1', (d) => d.datasetVersionId === dvId);
      const label = role ? `${role} data` : 'upstream data';
      if (!reg) {
        this.gap('data', `Dataset version ${dvId} (${label}) has no DatasetVersionRegistered event in the store: its location and digest are unknown.`, role ? mv : undefined);
        return;
      }
      const d = reg.data;
      const dataset = this.f.one('datasets.DatasetRegistered.v1', (x) => x.datasetId === d.datasetId);
      this.claim('data', `${cap(label)}: dataset version ${dvId}${dataset ? ` of dataset "${dataset.data.name}"` : ''} at ${d.uri} (${d.format}), SHA-256 ${d.digest}${d.size !== null ? `, ${d.size} bytes` : ''}${d.rows !== null ? `, ${d.rows} rows` : ''}, registered by ${by(reg)}.`, reg, dataset);
      if (d.profile) {
        this.claim('data', `Version ${dvId} was profiled: ${d.profile.rows} rows, ${d.profile.columns.length} columns (${list(d.profile.columns.map((c) => `${c.name} ${c.type}${c.missing ? `, ${c.missing} missing` : ''}`))}).`, reg);
      } else {
        this.gap('data', `Version ${dvId} (${label}) was not profiled (its data was not read at registration): no schema or column profile is recorded.`, reg);
      }
      const derived = this.f.one('datasets.DatasetVersionDerived.v1', (x) => x.datasetVersionId === dvId);
      if (derived) {
        const t = derived.data.transform;
        const how = t.kind === 'CLEAN' ? `cleaned (${t.steps.map((s) => s.type).join(', ') || 'no steps'})` : t.kind === 'SPLIT' ? `split off as the ${t.part} part of split ${t.splitId} (seed ${t.seed})` : `derived outside ModelTrail: ${t.description}`;
        this.claim('data', `Version ${dvId} was ${how} from ${derived.data.parentVersionIds.join(', ')}.`, derived);
        for (const parent of derived.data.parentVersionIds) describe(parent, null, depth + 1);
      }
      for (const split of this.f.of('datasets.DatasetSplitCreated.v1', (x) => !splits.has(x.splitId) && Object.values(x.parts).some((p) => p.datasetVersionId === dvId))) {
        splits.add(split.data.splitId);
        const parts = split.data.parts;
        this.claim('data', `Split ${split.data.splitId} of version ${split.data.datasetVersionId} (seed ${split.data.seed}${split.data.stratifyBy ? `, stratified by ${split.data.stratifyBy}` : ''}): train ${parts.train.datasetVersionId} (${parts.train.rows} rows), validation ${parts.validation.datasetVersionId} (${parts.validation.rows} rows), test ${parts.test.datasetVersionId} (${parts.test.rows} rows).`, split);
      }
      const validations = this.f.of('datasets.DatasetValidated.v1', (x) => x.datasetVersionId === dvId);
      for (const v of validations) {
        const r = v.data.report;
        const failed = r.results.filter((x) => !x.passed);
        this.claim('data', `Validation ${v.data.validationId} of version ${dvId} by ${by(v)}: ${r.passed ? 'passed' : 'FAILED'}, ${v.data.rules.length} rule(s) over ${r.rowsChecked} rows${failed.length ? `; failing: ${list(failed.map((x) => `${x.rule.type} ${'column' in x.rule ? x.rule.column : ''} (${x.observed})`), 5)}` : ''}.`, v);
        if (!r.passed) this.gap('data', `Validation ${v.data.validationId} of version ${dvId} (${label}) failed ${failed.length} of ${r.results.length} rule(s).`, v);
      }
      if (validations.length === 0 && role) this.gap('data', `Dataset version ${dvId} (${label}) was never validated: no data quality rules were checked.`, reg);
    };
    for (const used of this.used) describe(used.datasetVersionId, used.role, 0);
  }

  private training(): void {
    const mv = this.mv;
    const runId = mv.data.runId;
    const started = this.f.one('experiments.RunStarted.v1', (d) => d.runId === runId);
    const experiment = this.f.one('experiments.ExperimentCreated.v1', (d) => d.experimentId === mv.data.experimentId);
    if (!started) {
      this.gap('training', `Run ${runId} that produced model version ${mv.data.version} has no RunStarted event: its parameters, code and data are known only from the version's snapshot.`, mv);
    } else {
      const d = started.data;
      const params = Object.entries(d.params).map(([k, v]) => `${k}=${fmt(v)}`);
      this.claim('training', `Run ${runId}${experiment ? ` of experiment "${experiment.data.name}"` : ''} was started by ${by(started)} with ${params.length} parameter(s)${params.length ? `: ${list(params, 20)}` : ''}.`, started, experiment);
      if (d.codeRef) this.claim('training', `Code: ${d.codeRef.repository} at commit ${d.codeRef.commit}${d.codeRef.path ? `, path ${d.codeRef.path}` : ''}.`, started);
      else this.gap('training', `Run ${runId} has no code reference: the code that trained the model cannot be identified.`, started);
      if (d.datasetVersions.length) this.claim('training', `The run read ${d.datasetVersions.map((v) => `${v.datasetVersionId} as ${v.role}`).join(', ')}.`, started);
    }
    for (const logged of this.f.of('experiments.RunParamsLogged.v1', (d) => d.runId === runId)) {
      this.claim('training', `Parameters logged during the run: ${list(Object.entries(logged.data.params).map(([k, v]) => `${k}=${fmt(v)}`), 20)}.`, logged);
    }
    const jobs = this.f.of('scheduler.JobQueued.v1', (d) => d.runId === runId);
    if (jobs.length === 0) this.gap('training', `Run ${runId} was not executed by a scheduler job: the compute (agents, GPUs) it ran on is not recorded.`, started ?? mv);
    for (const job of jobs) {
      const j = job.data;
      this.claim('training', `Job ${j.jobId} was queued by ${by(job)}: command ${JSON.stringify(j.command)}, ${j.resources.gpus} GPU(s), ${j.resources.cpus} CPU(s), ${j.resources.memoryMb} MB memory.`, job);
      for (const assigned of this.f.of('scheduler.JobAssigned.v1', (d) => d.jobId === j.jobId)) {
        const a = assigned.data;
        const agent = this.f.last('scheduler.AgentRegistered.v1', (d) => d.agentId === a.agentId);
        const gpuNames = a.gpus.map((g) => {
          const known = agent?.data.gpus.find((x) => x.uuid === g.uuid);
          return `${g.uuid}${known ? ` (${known.name}, ${known.memoryMb} MB)` : ''}`;
        });
        this.claim('training', `Attempt ${a.attempt} of job ${j.jobId} was assigned to agent ${a.agentId}${agent ? ` on host ${agent.data.hostname}` : ''} with GPU(s) ${gpuNames.join(', ') || 'none'}.`, assigned, agent);
        if (!agent) this.gap('training', `Agent ${a.agentId} that job ${j.jobId} ran on has no AgentRegistered event: its host and GPUs are unknown.`, assigned);
      }
      const ends = ['scheduler.JobSucceeded.v1', 'scheduler.JobFailed.v1', 'scheduler.JobCancelled.v1', 'scheduler.JobTimedOut.v1', 'scheduler.JobLost.v1'] as const;
      const end = this.f.all.filter((e) => (ends as readonly string[]).includes(e.type) && (e.data as { jobId: string }).jobId === j.jobId).pop();
      if (end) {
        const e = end.data as { exitCode?: number | null; durationMs?: number | null; reason?: string };
        this.claim('training', `Job ${j.jobId} ended: ${end.type.split('.')[1]}${e.exitCode != null ? `, exit code ${e.exitCode}` : ''}${e.durationMs != null ? `, ${Math.round(e.durationMs / 1000)} s` : ''}${e.reason ? ` (${e.reason})` : ''}.`, end);
      }
    }
    const metrics = this.f.last('experiments.RunMetricsSummarized.v1', (d) => d.runId === runId);
    if (metrics) this.claim('training', `Metrics at the end of the run: ${list(metrics.data.metrics.map((m) => `${m.key} = ${m.last} (min ${m.min}, max ${m.max}, ${m.count} points)`), 20)}.`, metrics);
    else this.gap('training', `Run ${runId} has no metrics summary.`, started ?? mv);
    const completed = this.f.one('experiments.RunCompleted.v1', (d) => d.runId === runId);
    const failed = this.f.one('experiments.RunFailed.v1', (d) => d.runId === runId);
    if (completed) this.claim('training', `Run ${runId} completed at ${completed.data.completedAt}.`, completed);
    else if (failed) this.gap('training', `Run ${runId} failed: ${failed.data.reason}.`, failed);
    else this.gap('training', `Run ${runId} never completed (no RunCompleted event).`, started ?? mv);
    const artifact = this.f.one('experiments.RunArtifactLogged.v1', (d) => d.runId === runId && d.name === mv.data.artifact.name);
    if (artifact) {
      this.claim('training', `The run logged artifact "${artifact.data.name}" at ${artifact.data.uri}, SHA-256 ${artifact.data.digest}.`, artifact);
      if (artifact.data.digest !== mv.data.artifact.digest) this.gap('training', `The artifact the version serves (SHA-256 ${mv.data.artifact.digest}) is not the one the run logged (${artifact.data.digest}).`, artifact, mv);
    }
  }

  private model(): void {
    const mv = this.mv;
    const d = mv.data;
    const model = this.f.model;
    this.claim('model', `Model version ${d.version} (${d.modelVersionId}) of model "${model?.data.name ?? d.modelId}" was created by ${by(mv)} from run ${d.runId}, serving artifact "${d.artifact.name}" (${d.artifact.uri}, SHA-256 ${d.artifact.digest}, ${d.artifact.size} bytes).`, mv, model);
    if (model?.data.description) this.claim('model', `Model description: ${model.data.description}`, model);
    this.claim('model', `Signature: inputs ${list(d.signature.inputs.map((x) => `${x.name}: ${x.type}`))}; outputs ${list(d.signature.outputs.map((x) => `${x.name}: ${x.type}`))}.`, mv);
    const updated = this.f.last('registry.ModelCardUpdated.v1', (x) => x.modelVersionId === d.modelVersionId);
    const card = updated?.data.modelCard ?? d.modelCard;
    const source = updated ?? mv;
    for (const field of MODEL_CARD_FIELDS) {
      const text = card[field].trim();
      if (text) this.claim('model', `Model card, ${CARD_HEADING[field]}: ${text}`, source);
      else this.gap('model', `The model card has no ${CARD_HEADING[field]} (field "${field}" is empty).`, source);
    }
    const archived = this.f.one('registry.ModelVersionArchived.v1', (x) => x.modelVersionId === d.modelVersionId);
    if (archived) this.claim('model', `The version was archived by ${by(archived)}: ${archived.data.reason}`, archived);
  }

  private evaluation(): void {
    const mv = this.mv;
    const p = this.f.project;
    const metrics = this.f.last('experiments.RunMetricsSummarized.v1', (d) => d.runId === mv.data.runId);
    const values = new Map((metrics?.data.metrics ?? mv.data.metrics).map((m) => [m.key, m.last]));
    const source = metrics ?? mv;
    for (const c of p?.data.successCriteria ?? []) {
      const value = values.get(c.metric);
      const op = c.direction === 'MAXIMIZE' ? '≥' : '≤';
      if (value === undefined) {
        this.gap('evaluation', `Success criterion ${c.metric} ${op} ${c.threshold} cannot be evaluated: the run did not log ${c.metric}.`, p, source);
        continue;
      }
      const passed = c.direction === 'MAXIMIZE' ? value >= c.threshold : value <= c.threshold;
      this.claim('evaluation', `Success criterion ${c.metric} ${op} ${c.threshold}: the run's last value is ${value}, ${passed ? 'met' : 'NOT met'}.`, p, source);
      if (!passed) this.gap('evaluation', `The model version does not meet success criterion ${c.metric} ${op} ${c.threshold} (value ${value}).`, p, source);
    }
    if (!p || p.data.successCriteria.length === 0) this.gap('evaluation', 'There are no success criteria to evaluate the model version against.', p);
    const held = this.used.filter((u) => u.role !== 'TRAIN');
    if (held.length) this.claim('evaluation', `Evaluation data: ${held.map((u) => `${u.datasetVersionId} (${u.role})`).join(', ')}.`, mv);
    else this.gap('evaluation', 'The version declares no validation or test data: its metrics may have been measured on training data only.', mv);
    for (const req of this.f.of('registry.PromotionRequested.v1', (d) => d.modelVersionId === mv.data.modelVersionId)) {
      const gate = req.data.gates.find((g) => g.gate === 'SUCCESS_CRITERIA');
      if (gate) this.claim('evaluation', `The ${req.data.alias} promotion request recorded the SUCCESS_CRITERIA gate as ${gate.passed ? 'passed' : 'FAILED'}: ${gate.criteria.map((c) => `${c.metric} = ${c.value ?? 'not logged'} vs ${c.threshold} ${c.passed ? 'ok' : 'failed'}`).join('; ') || gate.detail}.`, req);
    }
  }

  private approvals(): void {
    const mv = this.mv;
    const requests = this.f.of('registry.PromotionRequested.v1', (d) => d.modelVersionId === mv.data.modelVersionId);
    if (requests.length === 0) this.gap('approvals', `Model version ${mv.data.version} was never proposed for promotion: no gates were checked and nobody approved it.`, mv);
    let approvedAny = false;
    for (const req of requests) {
      const r = req.data;
      this.claim('approvals', `Promotion of version ${r.version} to "${r.alias}" was requested by ${r.requestedBy} (${by(req)}): ${r.justification || '(no justification)'}.`, req);
      for (const g of r.gates) {
        const datasets = g.datasets.map((x) => `${x.datasetVersionId} (${x.role}) ${x.validationId ? `validation ${x.validationId} ${x.passed ? 'passed' : 'failed'}` : 'never validated'}`);
        this.claim('approvals', `Gate ${g.gate}: ${g.passed ? 'passed' : 'FAILED'}. ${g.detail}${datasets.length ? ` Datasets: ${datasets.join('; ')}.` : ''}`, req);
        if (!g.passed) this.gap('approvals', `Gate ${g.gate} of the "${r.alias}" promotion request failed: ${g.detail}`, req);
      }
      const approved = this.f.one('registry.PromotionApproved.v1', (d) => d.requestId === r.requestId);
      const rejected = this.f.one('registry.PromotionRejected.v1', (d) => d.requestId === r.requestId);
      if (approved) {
        approvedAny = true;
        this.claim('approvals', `The request was approved by ${approved.data.approvedBy} (${by(approved)})${approved.data.comment ? `: ${approved.data.comment}` : ''}.`, approved);
        if (approved.data.approvedBy === r.requestedBy) this.gap('approvals', `The "${r.alias}" promotion was approved by the person who requested it (${r.requestedBy}): no second person reviewed it.`, req, approved);
      } else if (rejected) {
        this.claim('approvals', `The request was rejected by ${rejected.data.rejectedBy} (${by(rejected)}): ${rejected.data.reason}.`, rejected);
      } else {
        this.gap('approvals', `The "${r.alias}" promotion request is still pending: nobody has approved or rejected it.`, req);
      }
    }
    if (requests.length > 0 && !approvedAny) this.gap('approvals', `No promotion of model version ${mv.data.version} was approved.`, ...requests);
    for (const a of this.f.of('registry.AliasAssigned.v1', (d) => d.modelVersionId === mv.data.modelVersionId || d.previousModelVersionId === mv.data.modelVersionId)) {
      const d = a.data;
      if (d.modelVersionId === mv.data.modelVersionId) {
        this.claim('approvals', `Alias "${d.alias}" was moved to this version${d.previousModelVersionId ? ` from version ${d.previousModelVersionId}` : ''} by request ${d.requestId}, requested by ${d.requestedBy} and approved by ${d.approvedBy}.`, a);
      } else {
        this.claim('approvals', `Alias "${d.alias}" was later moved from this version to ${d.modelVersionId}.`, a);
      }
    }
  }

  private deployment(): void {
    const mv = this.mv;
    const deployments = this.f.of('monitoring.ModelDeployed.v1', (d) => d.modelVersionId === mv.data.modelVersionId);
    if (deployments.length === 0) {
      this.gap('deployment', `Model version ${mv.data.version} was never deployed: there is no post-market monitoring of it.`, mv);
      return;
    }
    for (const dep of deployments) {
      const d = dep.data;
      this.claim('deployment', `Deployed to ${d.environment} at ${d.endpoint} as deployment ${d.deploymentId} by ${by(dep)}.`, dep);
      const ref = this.f.last('monitoring.ReferenceProfileSet.v1', (x) => x.deploymentId === d.deploymentId);
      if (ref) this.claim('deployment', `Drift reference: the profile of training version ${ref.data.datasetVersionId} (${ref.data.rows} rows, ${ref.data.features.length} features${ref.data.skippedColumns.length ? `, skipped ${ref.data.skippedColumns.map((c) => `${c.name} (${c.reason})`).join(', ')}` : ''}), stored with SHA-256 ${ref.data.digest}.`, ref);
      else this.gap('deployment', `Deployment ${d.deploymentId} has no reference profile: drift cannot be measured against the training data.`, dep);
      const monitor = this.f.one('monitoring.MonitorCreated.v1', (x) => x.deploymentId === d.deploymentId);
      if (!monitor) {
        this.gap('deployment', `Deployment ${d.deploymentId} has no monitor.`, dep);
        continue;
      }
      const c = monitor.data.config;
      this.claim('deployment', `Monitor ${monitor.data.monitorId} watches it: drift raised after ${c.raiseAfter} drifted window(s), resolved after ${c.resolveAfter}, drift share ${c.driftShare}, retraining policy ${c.retrainPolicy}, performance tolerance ${c.performanceTolerance}.`, monitor);
      const configured = this.f.last('monitoring.MonitorConfigured.v1', (x) => x.monitorId === monitor.data.monitorId);
      if (configured) this.claim('deployment', `The monitor was reconfigured by ${by(configured)} (${configured.data.changed.join(', ')}).`, configured);
      const drift = this.f.of('monitoring.DriftMeasured.v1', (x) => x.monitorId === monitor.data.monitorId);
      for (const m of drift) {
        const x = m.data;
        this.claim('deployment', `Drift window ${x.window} (${x.rows} rows, source ${x.source.kind}): ${x.drifted ? 'DRIFTED' : 'no drift'}, ${x.driftedFeatures} of ${x.features.length} feature(s) drifted${x.driftedFeatures ? ` (${list(x.features.filter((f) => f.drifted).map((f) => `${f.feature} ${f.method} ${f.score.toPrecision(3)}`), 6)})` : ''}.`, m);
      }
      if (drift.length === 0) this.gap('deployment', `No drift has been measured for deployment ${d.deploymentId}.`, monitor);
      for (const m of this.f.of('monitoring.PerformanceMeasured.v1', (x) => x.monitorId === monitor.data.monitorId)) {
        const x = m.data;
        this.claim('deployment', `Performance window ${x.window} (${x.predictions} labelled predictions): ${x.degraded ? 'DEGRADED' : 'within tolerance'}; ${x.comparisons.map((cmp) => `${cmp.metric} ${cmp.value}${cmp.baseline !== null ? ` vs ${cmp.baseline}` : ''}`).join(', ')}.`, m);
      }
      for (const alert of this.f.of('monitoring.AlertRaised.v1', (x) => x.monitorId === monitor.data.monitorId)) {
        const cause = this.f.all.find((e) => e.id === alert.metadata.causationId);
        this.claim('deployment', `${alert.data.kind} alert ${alert.data.alertId} raised after window(s) ${alert.data.windows.join(', ')}: ${alert.data.summary}`, alert, cause);
        const resolved = this.f.one('monitoring.AlertResolved.v1', (x) => x.alertId === alert.data.alertId);
        if (resolved) this.claim('deployment', `Alert ${alert.data.alertId} was resolved after healthy window(s) ${resolved.data.windows.join(', ')}.`, resolved);
        else this.gap('deployment', `${alert.data.kind} alert ${alert.data.alertId} is still open.`, alert);
      }
      const retrainTypes = ['monitoring.RetrainProposed.v1', 'monitoring.RetrainRequested.v1', 'monitoring.RetrainApproved.v1', 'monitoring.RetrainDeclined.v1'];
      for (const r of this.f.all.filter((e) => retrainTypes.includes(e.type) && (e.data as { monitorId: string }).monitorId === monitor.data.monitorId)) {
        const x = r.data as EventMap['monitoring.RetrainRequested.v1'] & { approvedBy?: string; declinedBy?: string; reason?: string; comment?: string };
        const cause = this.f.all.find((e) => e.id === r.metadata.causationId);
        switch (r.type) {
          case 'monitoring.RetrainProposed.v1':
            this.claim('deployment', `Retraining ${x.retrainId} was proposed${x.alertId ? ` because of alert ${x.alertId}` : ''}, with dataset changes ${x.datasetChanges.map((c) => `${c.fromDatasetVersionId} → ${c.toDatasetVersionId}`).join(', ') || 'none'}.`, r, cause);
            break;
          case 'monitoring.RetrainRequested.v1':
            this.claim('deployment', `Retraining ${x.retrainId} was requested (policy ${x.policy}) as job ${x.job.jobId} in experiment ${x.job.experimentId}, with dataset changes ${x.datasetChanges.map((c) => `${c.fromDatasetVersionId} → ${c.toDatasetVersionId}`).join(', ') || 'none'}.`, r, cause);
            break;
          case 'monitoring.RetrainApproved.v1':
            this.claim('deployment', `Retraining ${x.retrainId} was approved by ${x.approvedBy}${x.comment ? `: ${x.comment}` : ''}.`, r);
            break;
          default:
            this.claim('deployment', `Retraining ${x.retrainId} was declined by ${x.declinedBy}: ${x.reason}.`, r);
        }
      }
    }
  }
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
