import { randomUUID } from 'node:crypto';

/**
 * The expected access policy of the GraphQL API and one probe per root field (per variant of a
 * field whose policy depends on its arguments), for test/access-matrix.e2e.spec.ts.
 *
 * This file is the independent oracle: it must not import the gateway's policy code. It says,
 * for every root field of Query, Mutation and Subscription, which role in the project of the
 * entity the call is about a caller needs (platform admins may do everything), and how to call
 * it on the fixtures of one project.
 */

/** What a call needs: anyone authenticated, a role in the entity's project (each role includes the ones before), or a platform admin. */
export type Requirement = 'AUTHENTICATED' | 'VIEWER' | 'CONTRIBUTOR' | 'APPROVER' | 'ADMIN' | 'PLATFORM_ADMIN';
export type ProjectRoleName = 'VIEWER' | 'CONTRIBUTOR' | 'APPROVER' | 'ADMIN';
const ROLE_ORDER: ReadonlyArray<ProjectRoleName> = ['VIEWER', 'CONTRIBUTOR', 'APPROVER', 'ADMIN'];

/** Whether a principal holding `role` in the project (or platform admin) may make a call needing `required`. */
export function expectedAllowed(required: Requirement, role: ProjectRoleName | null, platformAdmin: boolean): boolean {
  if (platformAdmin) return true;
  if (required === 'AUTHENTICATED') return true;
  if (required === 'PLATFORM_ADMIN') return false;
  return role !== null && ROLE_ORDER.indexOf(role) >= ROLE_ORDER.indexOf(required);
}

/** Everything made for one project before the matrix runs (as the platform admin). */
export interface ProjectFixtures {
  key: 'P1' | 'P2';
  /** In every name made for this project: the leak check looks for it. */
  tag: string;
  projectId: string;
  projectName: string;
  datasetId: string;
  datasetName: string;
  versionId: string;
  validationReportId: string;
  splitId: string;
  splitVersionIds: string[];
  experimentId: string;
  experimentName: string;
  /** A completed run with params, metrics and a `model` artifact. */
  runId: string;
  /** P1: a completed run of P1 that trained on P2's dataset version (lineage across projects); P2: its own run. */
  crossRunId: string;
  /** A running run, for logMetrics, logParams, logArtifact, failRun and completeRun. */
  liveRunId: string;
  /** A queued job that no agent fits (it stays queued). */
  jobId: string;
  sweepId: string;
  sweepJobIds: string[];
  modelId: string;
  modelName: string;
  modelVersionId: string;
  promotionId: string;
  deploymentId: string;
  monitorId: string;
  alertId: string;
  retrainId: string;
  /** An event of the project (the run's RunStarted), for inclusionProof. */
  eventId: string;
  /** A webhook of the project (every event type, to an address nothing answers) and one of its deliveries. */
  webhookId: string;
  webhookDeliveryId: string;
}

export interface SharedFixtures {
  /** The repository root (the dataset file is under it). */
  root: string;
  csv: string;
  /** The started local agent's id, or a random id when none registered. */
  agentId: string;
  /** Unique to this run of the suite. */
  runTag: string;
  /** The log's size when the fixtures were made (for consistencyProof). */
  treeSize: number;
  /** A throwaway personal key of each user (by e-mail), for revokeApiKey of one's own key. */
  ownKeyIds: Record<string, string>;
  /** A service account's key made by the platform admin. */
  serviceKeyId: string;
}

export interface ProbeCall {
  document: string;
  variables: Record<string, unknown>;
}

export interface Probe {
  /** `Query.x`, `Mutation.x`, `Subscription.x`. */
  field: string;
  /** Names the variant when a field has several (createApiKey PERSONAL / SERVICE_ACCOUNT...). */
  variant?: string;
  requires: Requirement;
  /** Mutations run in phase order (the fields of a phase side by side): fixtures the later phases need survive the earlier ones. */
  phase: number;
  /** For lists: an id of the project that a member of it (or a platform admin) must find in the answer. */
  mustSee?: (fx: ProjectFixtures) => string;
  call(fx: ProjectFixtures, shared: SharedFixtures, principal: string): ProbeCall;
}

/** Features of the churn CSV a deployment watches. */
export const FEATURES = ['age', 'tenure_months', 'monthly_charges', 'contract', 'country'];
/** Resources no agent has: jobs stay queued (NEVER_FITS) and nothing runs. */
export const NEVER_FITS = { gpus: 0, cpus: 1, memoryMb: 64, labels: { 'acl-matrix': 'never-fits' } };
export const MODEL_CARD = {
  intendedUse: 'Access matrix fixture',
  limitations: 'None: it predicts nothing',
  evaluationData: 'A held-out fifth',
  ethicalConsiderations: 'No protected attributes',
  caveats: 'A test fixture',
};
export const SIGNATURE = { inputs: [{ name: 'age', type: 'NUMBER' }], outputs: [{ name: 'churned', type: 'STRING' }] };

const slug = (principal: string) => principal.replace(/@.*$/, '').replace(/[^a-z0-9]/gi, '-').toLowerCase();
const q = (document: string, variables: Record<string, unknown> = {}): ProbeCall => ({ document, variables });

// Phases of mutations: additions first, then changes of state the fixtures rely on, then endings.
const ADD = 1;
const CHANGE = 2;
const DECIDE = 3;
const END = 4;
const LAST = 5;
const AFTER_LAST = 6;

const query = (name: string, requires: Requirement, call: Probe['call'], mustSee?: Probe['mustSee'], variant?: string): Probe => ({ field: `Query.${name}`, requires, phase: 0, call, mustSee, variant });
const mutation = (name: string, requires: Requirement, phase: number, call: Probe['call'], variant?: string): Probe => ({ field: `Mutation.${name}`, requires, phase, call, variant });
const subscription = (name: string, requires: Requirement, call: Probe['call'], variant?: string): Probe => ({ field: `Subscription.${name}`, requires, phase: 0, call, variant });

export const PROBES: ReadonlyArray<Probe> = [
  // ----------------------------------------------------------------------------- anyone
  query('me', 'AUTHENTICATED', () => q(`{ me { principal platformAdmin authenticatedBy apiKeyId projects { projectId role } } }`)),
  query('logKey', 'AUTHENTICATED', () => q(`{ logKey { origin keyName verifierKey } }`)),
  query('logCheckpoint', 'AUTHENTICATED', () => q(`{ logCheckpoint { treeSize rootHash note } }`)),
  query('logCheckpoints', 'AUTHENTICATED', () => q(`{ logCheckpoints(first: 20) { nodes { treeSize rootHash } } }`)),
  query('consistencyProof', 'AUTHENTICATED', (_fx, s) => q(`query($a: Float!, $b: Float!) { consistencyProof(fromSize: $a, toSize: $b) { fromSize toSize proof } }`, { a: 1, b: s.treeSize })),
  query('inclusionProof', 'AUTHENTICATED', (fx) => q(`query($e: ID!) { inclusionProof(eventId: $e) { eventId leafIndex treeSize leafHash } }`, { e: fx.eventId })),
  query('agents', 'AUTHENTICATED', () => q(`{ agents(first: 200) { nodes { id status hostname runningJobIds runningJobs { id projectId } gpus { jobId } } } }`)),
  query('agent', 'AUTHENTICATED', (_fx, s) => q(`query($a: ID!) { agent(id: $a) { id status runningJobIds runningJobs { id projectId } } }`, { a: s.agentId })),
  query('apiKeys', 'AUTHENTICATED', () => q(`{ apiKeys(first: 200) { nodes { id name principal kind createdBy status } } }`)),
  // Lists: everyone may ask; what they return is filtered to the caller's projects (the leak check).
  query('projects', 'AUTHENTICATED', () => q(`{ projects(first: 200) { nodes { id name problem } } }`), (fx) => fx.projectId),
  query('datasets', 'AUTHENTICATED', () => q(`{ datasets(first: 200) { nodes { id name description project { id name } } } }`), (fx) => fx.datasetId),
  query('experiments', 'AUTHENTICATED', () => q(`{ experiments(first: 200) { nodes { id name project { id name } } } }`), (fx) => fx.experimentId),
  query('runs', 'AUTHENTICATED', () => q(`{ runs(first: 200) { nodes { id status params experiment { id name } } } }`), (fx) => fx.runId),
  query('jobs', 'AUTHENTICATED', () => q(`{ jobs(first: 200) { nodes { id status projectId experimentId runId sweepId } } }`), (fx) => fx.jobId),
  query('queue', 'AUTHENTICATED', () => q(`{ queue(first: 200) { nodes { jobId projectId reason job { id runId } } } }`), (fx) => fx.jobId),
  query('models', 'AUTHENTICATED', () => q(`{ models(first: 200) { nodes { id name project { id } } } }`), (fx) => fx.modelId),
  query('promotionRequests', 'AUTHENTICATED', () => q(`{ promotionRequests(first: 200) { nodes { id status model { id name } modelVersion { id } } } }`), (fx) => fx.promotionId),
  query('deployments', 'AUTHENTICATED', () => q(`{ deployments(first: 200) { nodes { id projectId modelId modelVersionId environment } } }`), (fx) => fx.deploymentId),
  query('alerts', 'AUTHENTICATED', () => q(`{ alerts(first: 200) { nodes { id deploymentId monitorId retrainId summary } } }`), (fx) => fx.alertId),
  query('retrainRequests', 'AUTHENTICATED', () => q(`{ retrainRequests(first: 200) { nodes { id deploymentId alertId modelId status } } }`), (fx) => fx.retrainId),

  // ----------------------------------------------------------------------------- VIEWER
  query('project', 'VIEWER', (fx) => q(`query($id: ID!) { project(id: $id) { id name problem datasets(first: 50) { nodes { id name } } experiments(first: 50) { nodes { id name } } } }`, { id: fx.projectId })),
  query('experiment', 'VIEWER', (fx) => q(`query($id: ID!) { experiment(id: $id) { id name project { id name } runs(first: 50) { nodes { id } } } }`, { id: fx.experimentId })),
  query('run', 'VIEWER', (fx) =>
    q(`query($id: ID!) { run(id: $id) { id status params project { id name } experiment { id } artifacts { name uri } datasetVersions { role datasetVersion { id } } modelVersions { id } } }`, { id: fx.runId }),
  ),
  query('dataset', 'VIEWER', (fx) => q(`query($id: ID!) { dataset(id: $id) { id name description project { id } versions(first: 50) { nodes { id version } } } }`, { id: fx.datasetId })),
  query('datasetVersion', 'VIEWER', (fx) => q(`query($id: ID!) { datasetVersion(id: $id) { id version dataset { id name } parents { id } validations { id passed } } }`, { id: fx.versionId })),
  query('job', 'VIEWER', (fx) => q(`query($id: ID!) { job(id: $id) { id status projectId experimentId runId sweepId command } }`, { id: fx.jobId })),
  query('sweep', 'VIEWER', (fx) => q(`query($id: ID!) { sweep(id: $id) { id status projectId experimentId trials { jobId runId } } }`, { id: fx.sweepId })),
  query('model', 'VIEWER', (fx) =>
    q(`query($id: ID!) { model(id: $id) { id name project { id } versions(first: 50) { nodes { id } } aliases { alias modelVersion { id } } promotionRequests(first: 50) { nodes { id } } } }`, { id: fx.modelId }),
  ),
  query('modelVersion', 'VIEWER', (fx) => q(`query($id: ID!) { modelVersion(id: $id) { id version model { id name } run { id } promotionRequests(first: 50) { nodes { id } } } }`, { id: fx.modelVersionId })),
  query('promotionRequest', 'VIEWER', (fx) => q(`query($id: ID!) { promotionRequest(id: $id) { id status alias requestedBy model { id name } modelVersion { id } } }`, { id: fx.promotionId })),
  query('deployment', 'VIEWER', (fx) =>
    q(`query($id: ID!) { deployment(id: $id) { id projectId modelVersionId monitor { id } alerts(first: 50) { nodes { id } } retrainRequests(first: 50) { nodes { id } } } }`, { id: fx.deploymentId }),
  ),
  query('alert', 'VIEWER', (fx) => q(`query($id: ID!) { alert(id: $id) { id status deploymentId retrainId summary } }`, { id: fx.alertId })),
  query('retrainRequest', 'VIEWER', (fx) => q(`query($id: ID!) { retrainRequest(id: $id) { id status deploymentId alertId modelVersionId } }`, { id: fx.retrainId })),
  query('aliasHistory', 'VIEWER', (fx) => q(`query($m: ID!) { aliasHistory(modelId: $m, alias: "champion") { alias version modelVersion { id } requestedBy } }`, { m: fx.modelId })),
  query('auditReport', 'VIEWER', (fx) => q(`query($v: ID!) { auditReport(modelVersionId: $v) { format fileName digest body } }`, { v: fx.modelVersionId })),
  query('compareRuns', 'VIEWER', (fx) => q(`query($ids: [ID!]!) { compareRuns(ids: $ids) { runs { id } differingParams { key } commonParams { key value } metrics { key } } }`, { ids: [fx.runId, fx.liveRunId] })),
  query('explain', 'VIEWER', (fx) => q(`query($id: ID!) { explain(id: $id) { subject { id kind } missingStages steps { nodeId eventId type actor } } }`, { id: fx.deploymentId })),
  query('lineage', 'VIEWER', (fx) =>
    q(`query($id: ID!) { lineage(id: $id, first: 500) { root { id } totalNodes nodes { id kind name projectId redacted } edges { from to type } } }`, { id: fx.modelVersionId }),
  ),
  // A P1 run that read P2's data: its lineage shows a P1 member nothing of P2 (no id, no name).
  query(
    'lineage',
    'VIEWER',
    (fx) => q(`query($id: ID!) { lineage(id: $id, direction: UPSTREAM, first: 500) { root { id } nodes { id kind name projectId redacted } edges { from to type } } }`, { id: fx.crossRunId }),
    undefined,
    'of a run that read data of another project',
  ),
  query('timeline', 'VIEWER', (fx) => q(`query($id: ID!) { timeline(id: $id, first: 100) { nodes { nodeId eventId type actor } } }`, { id: fx.runId })),
  query('history', 'VIEWER', (fx) => q(`query($id: ID!) { history(entityId: $id) { stream events { id type actor correlationId data } } }`, { id: fx.runId })),
  query('openLineage', 'VIEWER', (fx) => q(`query($r: ID!) { openLineage(runId: $r) }`, { r: fx.runId })),
  query('roleGrants', 'VIEWER', (fx) => q(`query($p: ID) { roleGrants(projectId: $p, first: 200) { nodes { principal role projectId grantedBy } } }`, { p: fx.projectId })),

  // ----------------------------------------------------------------------------- platform admin
  query('verifyLog', 'PLATFORM_ADMIN', () => q(`{ verifyLog { ok eventsChecked problemCount } }`)),

  // ----------------------------------------------------------------------------- subscriptions
  subscription('jobProgress', 'VIEWER', (fx) => q(`subscription($j: ID!) { jobProgress(jobId: $j, replayLast: 10) { __typename jobId seq } }`, { j: fx.jobId })),
  subscription('jobProgressBatches', 'VIEWER', (fx) => q(`subscription($j: ID!) { jobProgressBatches(jobId: $j, replayLast: 10) { jobId items { jobId seq } } }`, { j: fx.jobId })),
  subscription('runMetrics', 'VIEWER', (fx) => q(`subscription($r: ID!) { runMetrics(runId: $r) { key value step } }`, { r: fx.liveRunId })),
  subscription('alerts', 'VIEWER', (fx) => q(`subscription($d: ID) { alerts(deploymentId: $d) { alertId deploymentId status } }`, { d: fx.deploymentId }), 'of one deployment'),
  // Not in the brief's table: the alerts of every deployment and jobUpdates are live lists, filtered like the list queries.
  subscription('alerts', 'AUTHENTICATED', () => q(`subscription { alerts { alertId deploymentId status } }`), 'of every deployment'),
  subscription('jobUpdates', 'AUTHENTICATED', () => q(`subscription { jobUpdates { jobId status job { id projectId } } }`)),

  // ----------------------------------------------------------------------------- anyone: mutations
  mutation('createApiKey', 'AUTHENTICATED', ADD, (fx, _s, p) => q(`mutation($n: String!) { createApiKey(input: { name: $n }) { key apiKey { id name principal kind } } }`, { n: `matrix ${fx.key} ${slug(p)}` }), 'PERSONAL'),
  mutation(
    'defineProject',
    'AUTHENTICATED',
    ADD,
    (fx, s, p) =>
      q(`mutation($n: String!) { defineProject(input: { name: $n, problem: "A new project", taskType: BINARY_CLASSIFICATION, target: "churned" }) { id name } }`, {
        n: `acl-new-${s.runTag}-${fx.key.toLowerCase()}-${slug(p)}`,
      }),
    'a new name',
  ),

  // ----------------------------------------------------------------------------- CONTRIBUTOR
  mutation('registerDataset', 'CONTRIBUTOR', ADD, (fx, _s, p) => q(`mutation($n: String!, $p: ID) { registerDataset(input: { name: $n, projectId: $p }) { id name } }`, { n: `${fx.tag}-ds-${slug(p)}`, p: fx.projectId }), 'in a project'),
  mutation('registerDatasetVersion', 'CONTRIBUTOR', ADD, (fx, s) => q(`mutation($d: ID!, $u: String!) { registerDatasetVersion(input: { datasetId: $d, uri: $u, format: CSV }) { id version } }`, { d: fx.datasetId, u: s.csv })),
  mutation('deriveDatasetVersion', 'CONTRIBUTOR', ADD, (fx, s) =>
    q(`mutation($d: ID, $parents: [ID!]!, $u: String!) { deriveDatasetVersion(input: { datasetId: $d, parentVersionIds: $parents, uri: $u, format: CSV, transform: "the same file again" }) { id version } }`, {
      d: fx.datasetId,
      parents: [fx.versionId],
      u: s.csv,
    }),
  ),
  mutation('validateDatasetVersion', 'CONTRIBUTOR', ADD, (fx) => q(`mutation($v: ID!) { validateDatasetVersion(input: { datasetVersionId: $v, rules: [{ type: NOT_NULL, column: "customer_id" }] }) { id passed } }`, { v: fx.versionId })),
  mutation('cleanDatasetVersion', 'CONTRIBUTOR', ADD, (fx) => q(`mutation($v: ID!) { cleanDatasetVersion(input: { datasetVersionId: $v, steps: [{ type: DROP_DUPLICATES }] }) { id version } }`, { v: fx.versionId })),
  mutation('splitDatasetVersion', 'CONTRIBUTOR', ADD, (fx) =>
    q(`mutation($v: ID!) { splitDatasetVersion(input: { datasetVersionId: $v, train: 0.7, validation: 0.15, test: 0.15, seed: 1 }) { id train { id } } }`, { v: fx.versionId }),
  ),
  mutation('changeDatasetDescription', 'CONTRIBUTOR', CHANGE, (fx, _s, p) => q(`mutation($d: ID!, $t: String!) { changeDatasetDescription(input: { datasetId: $d, description: $t }) { id description } }`, { d: fx.datasetId, t: `described by ${p}` })),
  mutation('createExperiment', 'CONTRIBUTOR', ADD, (fx, _s, p) => q(`mutation($p: ID!, $n: String!) { createExperiment(input: { projectId: $p, name: $n }) { id name } }`, { p: fx.projectId, n: `${fx.tag}-exp-${slug(p)}` })),
  mutation('startRun', 'CONTRIBUTOR', ADD, (fx) => q(`mutation($e: ID!) { startRun(input: { experimentId: $e, params: { probe: 1 } }) { id status } }`, { e: fx.experimentId })),
  mutation('logMetrics', 'CONTRIBUTOR', ADD, (fx) => q(`mutation($r: ID!) { logMetrics(input: { runId: $r, points: [{ key: "probe", value: 1 }] }) { accepted runId } }`, { r: fx.liveRunId })),
  mutation('logParams', 'CONTRIBUTOR', ADD, (fx, _s, p) => q(`mutation($r: ID!, $params: JSON!) { logParams(input: { runId: $r, params: $params }) { id params } }`, { r: fx.liveRunId, params: { [`by_${slug(p).replace(/-/g, '_')}`]: 1 } })),
  mutation('logArtifact', 'CONTRIBUTOR', ADD, (fx, s, p) =>
    q(`mutation($r: ID!, $n: String!, $u: String!) { logArtifact(input: { runId: $r, name: $n, uri: $u, digest: "${'0'.repeat(64)}", size: 1 }) { name uri } }`, { r: fx.liveRunId, n: `probe-${slug(p)}`, u: s.csv }),
  ),
  mutation('submitJob', 'CONTRIBUTOR', ADD, (fx) => q(`mutation($input: SubmitJobInput!) { submitJob(input: $input) { id status projectId } }`, { input: { experimentId: fx.experimentId, command: ['true'], resources: NEVER_FITS } })),
  mutation('submitSweep', 'CONTRIBUTOR', ADD, (fx) =>
    q(`mutation($input: SubmitSweepInput!) { submitSweep(input: $input) { id status projectId } }`, {
      input: { experimentId: fx.experimentId, command: ['true'], space: { lr: { values: [0.1] } }, strategy: 'GRID', resources: NEVER_FITS },
    }),
  ),
  mutation('changeJobPriority', 'CONTRIBUTOR', CHANGE, (fx) => q(`mutation($j: ID!) { changeJobPriority(input: { jobId: $j, priority: 5 }) { id priority } }`, { j: fx.jobId })),
  mutation('registerModel', 'CONTRIBUTOR', ADD, (fx, _s, p) => q(`mutation($p: ID!, $n: String!) { registerModel(input: { projectId: $p, name: $n }) { id name } }`, { p: fx.projectId, n: `${fx.tag}-model-${slug(p)}` })),
  mutation('createModelVersion', 'CONTRIBUTOR', ADD, (fx) =>
    q(`mutation($input: CreateModelVersionInput!) { createModelVersion(input: $input) { id version } }`, {
      input: { modelId: fx.modelId, runId: fx.runId, artifactName: 'model', signature: SIGNATURE, modelCard: MODEL_CARD },
    }),
  ),
  mutation('updateModelCard', 'CONTRIBUTOR', CHANGE, (fx) => q(`mutation($v: ID!, $card: ModelCardInput!) { updateModelCard(input: { modelVersionId: $v, modelCard: $card }) { id } }`, { v: fx.modelVersionId, card: MODEL_CARD })),
  mutation('requestPromotion', 'CONTRIBUTOR', ADD, (fx, _s, p) =>
    q(`mutation($v: ID!, $a: String!) { requestPromotion(input: { modelVersionId: $v, alias: $a, justification: "matrix probe" }) { id status } }`, { v: fx.modelVersionId, a: `probe_${slug(p).replace(/-/g, '_')}` }),
  ),
  mutation('deployModel', 'CONTRIBUTOR', ADD, (fx, _s, p) =>
    q(`mutation($input: DeployModelInput!) { deployModel(input: $input) { id environment } }`, {
      input: { modelVersionId: fx.modelVersionId, environment: `probe-${slug(p)}`, endpoint: 'https://models.example.com/probe', features: FEATURES },
    }),
  ),
  mutation('configureMonitor', 'CONTRIBUTOR', CHANGE, (fx) => q(`mutation($d: ID!) { configureMonitor(input: { deploymentId: $d, windowSize: 50 }) { id config { windowSize } } }`, { d: fx.deploymentId })),
  mutation('ingestPredictions', 'CONTRIBUTOR', ADD, (fx) =>
    q(`mutation($d: ID!) { ingestPredictions(input: { deploymentId: $d, predictions: [{ predictionId: "probe-1", prediction: "yes" }] }) { accepted } }`, { d: fx.deploymentId }),
  ),
  mutation('ingestGroundTruth', 'CONTRIBUTOR', CHANGE, (fx) => q(`mutation($d: ID!) { ingestGroundTruth(input: { deploymentId: $d, labels: [{ predictionId: "fixture-1", actual: "yes" }] }) { accepted pending } }`, { d: fx.deploymentId })),
  mutation('ingestFeatureBatch', 'CONTRIBUTOR', CHANGE, (fx) =>
    q(`mutation($d: ID!, $v: ID!) { ingestFeatureBatch(input: { deploymentId: $d, datasetVersionId: $v }) { measurement { id drifted } alertsRaised { id } retrainRequests { id } } }`, { d: fx.deploymentId, v: fx.versionId }),
  ),
  mutation('failRun', 'CONTRIBUTOR', END, (fx) => q(`mutation($r: ID!) { failRun(input: { runId: $r, reason: "matrix probe" }) { id status } }`, { r: fx.liveRunId })),
  mutation('completeRun', 'CONTRIBUTOR', END, (fx) => q(`mutation($r: ID!) { completeRun(input: { runId: $r }) { id status } }`, { r: fx.liveRunId })),
  mutation('cancelJob', 'CONTRIBUTOR', END, (fx) => q(`mutation($j: ID!) { cancelJob(input: { jobId: $j, reason: "matrix probe" }) { id status } }`, { j: fx.jobId })),
  mutation('cancelSweep', 'CONTRIBUTOR', END, (fx) => q(`mutation($s: ID!) { cancelSweep(input: { sweepId: $s, reason: "matrix probe" }) { id status } }`, { s: fx.sweepId })),
  mutation('archiveModelVersion', 'CONTRIBUTOR', LAST, (fx) => q(`mutation($v: ID!) { archiveModelVersion(input: { modelVersionId: $v, reason: "matrix probe" }) { id status } }`, { v: fx.modelVersionId })),
  mutation('archiveDataset', 'CONTRIBUTOR', LAST, (fx) => q(`mutation($d: ID!) { archiveDataset(input: { datasetId: $d, reason: "matrix probe" }) { id status } }`, { d: fx.datasetId })),

  // ----------------------------------------------------------------------------- APPROVER
  // The admin requested the promotion and may not approve it (separation of duties, FORBIDDEN by
  // the registry): the rejection runs first, so every allowed approval meets a decided request (CONFLICT).
  mutation('rejectPromotion', 'APPROVER', DECIDE, (fx) => q(`mutation($r: ID!) { rejectPromotion(input: { requestId: $r, reason: "matrix probe" }) { id status } }`, { r: fx.promotionId })),
  mutation('approvePromotion', 'APPROVER', END, (fx) => q(`mutation($r: ID!) { approvePromotion(input: { requestId: $r, comment: "matrix probe" }) { id status } }`, { r: fx.promotionId })),
  mutation('approveRetrain', 'APPROVER', DECIDE, (fx) => q(`mutation($r: ID!) { approveRetrain(input: { retrainId: $r, comment: "matrix probe" }) { id status } }`, { r: fx.retrainId })),
  mutation('declineRetrain', 'APPROVER', END, (fx) => q(`mutation($r: ID!) { declineRetrain(input: { retrainId: $r, reason: "matrix probe" }) { id status } }`, { r: fx.retrainId })),

  // ----------------------------------------------------------------------------- ADMIN of the project
  mutation('grantRole', 'ADMIN', ADD, (fx, s) =>
    q(`mutation($p: ID, $who: String!) { grantRole(input: { projectId: $p, principal: $who, role: VIEWER }) { principal role projectId } }`, { p: fx.projectId, who: `throwaway-${s.runTag}@example.com` }),
  ),
  mutation('revokeRole', 'ADMIN', CHANGE, (fx, s) => q(`mutation($p: ID, $who: String!) { revokeRole(input: { projectId: $p, principal: $who }) { principal role projectId revokedBy } }`, { p: fx.projectId, who: `throwaway-${s.runTag}@example.com` })),
  mutation(
    'defineProject',
    'ADMIN',
    ADD,
    (fx) =>
      q(`mutation($n: String!) { defineProject(input: { name: $n, problem: "Predict which customers cancel next month", taskType: BINARY_CLASSIFICATION, target: "churned" }) { id name } }`, {
        n: fx.projectName,
      }),
    "the project's existing name",
  ),

  // Not in the brief's table (the field came with the implementation): one's own key is one's own; another's only a platform admin's.
  mutation('revokeApiKey', 'AUTHENTICATED', END, (_fx, s, p) => q(`mutation($k: ID!) { revokeApiKey(input: { keyId: $k }) { id status principal } }`, { k: s.ownKeyIds[p] ?? randomUUID() }), 'own key'),
  mutation('revokeApiKey', 'PLATFORM_ADMIN', END, (_fx, s) => q(`mutation($k: ID!) { revokeApiKey(input: { keyId: $k }) { id status principal } }`, { k: s.serviceKeyId }), "a service account's key"),

  // Webhooks: the project's ADMIN manages (and reads: a URL often carries the receiver's token) its webhooks; a webhook of every project needs a platform admin.
  query('webhooks', 'ADMIN', (fx) => q(`query($p: ID) { webhooks(projectId: $p, first: 200) { nodes { id projectId url eventTypes status } } }`, { p: fx.projectId }), (fx) => fx.webhookId),
  query('webhooks', 'AUTHENTICATED', () => q(`{ webhooks(first: 200) { nodes { id projectId url } } }`), undefined, 'those one manages'),
  query('webhook', 'ADMIN', (fx) => q(`query($id: ID!) { webhook(id: $id) { id url status deliveries(first: 20) { nodes { id eventType status attempts log { statusCode error } } } } }`, { id: fx.webhookId })),
  mutation('createWebhook', 'ADMIN', ADD, (fx) => q(`mutation($p: ID) { createWebhook(input: { url: "http://127.0.0.1:9/matrix", eventTypes: ["registry.PromotionApproved.v1"], projectId: $p }) { secret webhook { id projectId } } }`, { p: fx.projectId })),
  mutation('createWebhook', 'PLATFORM_ADMIN', ADD, () => q(`mutation { createWebhook(input: { url: "http://127.0.0.1:9/matrix", eventTypes: ["scheduler.AgentLost.v1"] }) { secret webhook { id projectId } } }`), 'without a project'),
  mutation('updateWebhook', 'ADMIN', CHANGE, (fx, _s, p) => q(`mutation($id: ID!, $d: String!) { updateWebhook(input: { webhookId: $id, description: $d }) { id description } }`, { id: fx.webhookId, d: `matrix ${slug(p)}` })),
  mutation('rotateWebhookSecret', 'ADMIN', CHANGE, (fx) => q(`mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret webhook { id secretVersion } } }`, { id: fx.webhookId })),
  mutation('pauseWebhook', 'ADMIN', CHANGE, (fx) => q(`mutation($id: ID!) { pauseWebhook(id: $id) { id status } }`, { id: fx.webhookId })),
  mutation('resumeWebhook', 'ADMIN', DECIDE, (fx) => q(`mutation($id: ID!) { resumeWebhook(id: $id) { id status } }`, { id: fx.webhookId })),
  mutation('redeliverWebhookDelivery', 'ADMIN', DECIDE, (fx) => q(`mutation($id: ID!) { redeliverWebhookDelivery(deliveryId: $id) { id status } }`, { id: fx.webhookDeliveryId })),
  mutation('deleteWebhook', 'ADMIN', END, (fx) => q(`mutation($id: ID!) { deleteWebhook(id: $id) { id status } }`, { id: fx.webhookId })),

  // ----------------------------------------------------------------------------- platform admin
  mutation('publishCheckpoint', 'PLATFORM_ADMIN', ADD, () => q(`mutation { publishCheckpoint { treeSize rootHash } }`)),
  mutation('drainAgent', 'PLATFORM_ADMIN', LAST, (_fx, s) => q(`mutation($a: ID!) { drainAgent(input: { agentId: $a, reason: "matrix probe" }) { id status } }`, { a: s.agentId })),
  // Right after drainAgent.
  mutation('resumeAgent', 'PLATFORM_ADMIN', AFTER_LAST, (_fx, s) => q(`mutation($a: ID!) { resumeAgent(input: { agentId: $a }) { id status } }`, { a: s.agentId })),
  mutation(
    'createApiKey',
    'PLATFORM_ADMIN',
    ADD,
    (fx, s, p) =>
      q(`mutation($n: String!, $sa: String!) { createApiKey(input: { name: $n, kind: SERVICE_ACCOUNT, serviceAccount: $sa }) { key apiKey { id name principal kind } } }`, {
        n: `matrix service ${fx.key} ${slug(p)}`,
        sa: `acl-${s.runTag}-${fx.key.toLowerCase()}-${slug(p)}`,
      }),
    'SERVICE_ACCOUNT',
  ),
];

/** A fresh uuid (for fixtures a test leaves out). */
export const someId = (): string => randomUUID();
