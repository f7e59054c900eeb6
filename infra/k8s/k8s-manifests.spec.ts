import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMap as isYamlMap, isScalar, parseAllDocuments, type Document } from 'yaml';
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { DaemonSet, Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigError, loadConfig, requireActorSigningKey, requireLogSigningKey } from '@modeltrail/config';
import { ensureEventsStream, ensureTelemetryStream } from '@modeltrail/messaging';
import { describeWithNatsServerBinary, eventually, freePort, natsServerBinary } from '@modeltrail/testing';
import { connect, StringCodec, type NatsConnection } from 'nats';
import { createFieldChecker, type FieldChecker } from './k8s-fields';
import { isMap, natsConfAt, NatsConfVariable, parseNatsConf, type NatsConfMap, type NatsConfValue } from './nats-conf';

/**
 * infra/k8s: every document is a valid Kubernetes object (the OpenAPI schema of
 * kubernetes-models) and the manifests fit the code base: a Deployment for every service
 * directory, the agent as a GPU DaemonSet, probes on declared ports, every referenced Secret,
 * ConfigMap and key defined, the NATS cluster's users equal to infra/nats/nats.conf's, and the
 * NATS and EventStoreDB clusters of three. `problemsOf` gathers every problem; the suite checks
 * that the committed files have none and that broken copies have the problem they should.
 */

const ROOT = join(__dirname, '..', '..');
const DIR = __dirname;
const NATS_CONF = join(ROOT, 'infra', 'nats', 'nats.conf');
const MODELTRAIL_IMAGE = /^modeltrail\/(app|agent):/;
const PLACEHOLDER = 'REPLACE ME';

type K8sObject = any;

interface Manifest {
  file: string;
  obj: K8sObject;
  /** The parsed document, for the comments. */
  doc: Document;
}

interface Manifests {
  files: string[];
  kustomization: K8sObject;
  manifests: Manifest[];
  natsConf: string;
}

/** Every *.yaml of infra/k8s; a document that does not parse fails here, naming file and error. */
function loadManifests(): Manifests {
  const files = readdirSync(DIR)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort();
  let kustomization: K8sObject = null;
  const manifests: Manifest[] = [];
  for (const file of files) {
    const docs = parseAllDocuments(readFileSync(join(DIR, file), 'utf8'));
    if (!Array.isArray(docs)) throw new Error(`${file}: not a YAML stream`);
    for (const doc of docs) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const obj = doc.toJS();
      if (obj === null || obj === undefined) continue;
      if (file === 'kustomization.yaml') kustomization = obj;
      else manifests.push({ file, obj, doc });
    }
  }
  return { files, kustomization, manifests, natsConf: readFileSync(NATS_CONF, 'utf8') };
}

const MODELS: Record<string, { new (data: K8sObject): { validate(): void } }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'apps/v1/DaemonSet': DaemonSet,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

const WORKLOADS = new Set(['Deployment', 'DaemonSet', 'StatefulSet', 'Job']);

const nameOf = (m: Manifest) => `${m.obj?.kind}/${m.obj?.metadata?.name} (${m.file})`;
const ofKind = (ms: Manifest[], kind: string) => ms.filter((m) => m.obj?.kind === kind);
const find = (ms: Manifest[], kind: string, name: string) => ms.find((m) => m.obj?.kind === kind && m.obj?.metadata?.name === name);
const podSpecOf = (obj: K8sObject): K8sObject => obj?.spec?.template?.spec;
const containersOf = (obj: K8sObject): K8sObject[] => [...(podSpecOf(obj)?.initContainers ?? []), ...(podSpecOf(obj)?.containers ?? [])];
const isModelTrail = (container: K8sObject) => MODELTRAIL_IMAGE.test(String(container?.image ?? ''));
const commandLine = (container: K8sObject) => [...(container?.command ?? []), ...(container?.args ?? [])].join(' ');
const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

// --- the checks -------------------------------------------------------------------------------

function schemaProblems({ manifests }: Manifests): string[] {
  const problems: string[] = [];
  for (const m of manifests) {
    const Model = MODELS[`${m.obj?.apiVersion}/${m.obj?.kind}`];
    if (!Model) {
      problems.push(`${nameOf(m)}: no schema for apiVersion ${m.obj?.apiVersion}, kind ${m.obj?.kind}`);
      continue;
    }
    try {
      new Model(m.obj).validate();
    } catch (error) {
      problems.push(`${nameOf(m)}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return problems;
}

let fieldChecker: FieldChecker | undefined;

/** Field names the Kubernetes API does not know (kubernetes-models' validators let them through). */
function fieldProblems({ manifests }: Manifests): string[] {
  fieldChecker ??= createFieldChecker(ROOT);
  const checker = fieldChecker;
  return manifests.flatMap((m) => {
    if (!MODELS[`${m.obj?.apiVersion}/${m.obj?.kind}`]) return [];
    return checker.unknownFields(m.obj).map((problem) => `${nameOf(m)}: ${problem}`);
  });
}

function kustomizationProblems({ files, kustomization }: Manifests): string[] {
  if (!kustomization) return ['kustomization.yaml is missing'];
  const listed: string[] = kustomization.resources ?? [];
  const problems = files.filter((f) => f !== 'kustomization.yaml' && !listed.includes(f)).map((f) => `kustomization.yaml does not list ${f}`);
  for (const entry of listed) if (!files.includes(entry)) problems.push(`kustomization.yaml lists ${entry}, which is not a manifest of infra/k8s`);
  return problems;
}

/** The source file a `node dist/<path>.js` command runs, or null. */
function sourceOfCommand(container: K8sObject): string | null {
  const match = /\bnode\s+(?:"|')?dist\/(\S+?)\.js\b/.exec(commandLine(container));
  return match ? `${match[1]}.ts` : null;
}

function processProblems({ manifests }: Manifests): string[] {
  const problems: string[] = [];
  const services = readdirSync(join(ROOT, 'services'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
  const deployments = ofKind(manifests, 'Deployment');
  const expected = [...services.filter((s) => s !== 'agent').map((s) => `services/${s}/src/main.ts`), 'gateway/src/main.ts'];
  for (const source of expected) {
    const runs = deployments.filter((m) => containersOf(m.obj).some((c) => sourceOfCommand(c) === source));
    const built = `dist/${source.replace(/\.ts$/, '.js')}`;
    if (runs.length === 0) problems.push(`no Deployment runs ${built}`);
    else if (runs.length > 1) problems.push(`${runs.length} Deployments run ${built}`);
  }
  for (const m of [...deployments, ...ofKind(manifests, 'DaemonSet')]) {
    for (const c of containersOf(m.obj).filter(isModelTrail)) {
      const source = sourceOfCommand(c);
      if (source === null) problems.push(`${nameOf(m)}: container ${c.name} runs no \`node dist/<path>.js\``);
      else if (!existsSync(join(ROOT, source))) problems.push(`${nameOf(m)}: container ${c.name} runs dist/${source.replace(/\.ts$/, '.js')}, but ${source} does not exist`);
    }
  }
  const gateway = find(manifests, 'Deployment', 'gateway');
  if (!gateway) problems.push('no Deployment gateway');
  else {
    if (!((gateway.obj.spec?.replicas ?? 1) >= 2)) problems.push('the gateway runs fewer than 2 replicas');
    const service = ofKind(manifests, 'Service').find((s) => matches(s.obj.spec?.selector, gateway.obj.spec?.template?.metadata?.labels));
    if (!service?.obj.spec?.ports?.some((p: K8sObject) => p.port === 4000)) problems.push('no Service exposes the gateway on port 4000');
  }
  return problems;
}

function agentProblems({ manifests }: Manifests): string[] {
  const agents = ofKind(manifests, 'DaemonSet').filter((m) => containersOf(m.obj).some((c) => sourceOfCommand(c) === 'services/agent/src/main.ts'));
  if (agents.length === 0) return ['no DaemonSet runs dist/services/agent/src/main.js'];
  const problems: string[] = [];
  for (const m of agents) {
    const spec = podSpecOf(m.obj);
    const container = containersOf(m.obj).find((c) => sourceOfCommand(c) === 'services/agent/src/main.ts');
    const gpus = Number(container?.resources?.limits?.['nvidia.com/gpu'] ?? 0);
    if (!(gpus >= 1)) problems.push(`${nameOf(m)}: the agent asks for no nvidia.com/gpu in its limits`);
    if (!String(container?.image).startsWith('modeltrail/agent:')) problems.push(`${nameOf(m)}: the agent's image is not modeltrail/agent (the Dockerfile's agent target)`);
    if (!Object.keys(spec?.nodeSelector ?? {}).some((k) => k.startsWith('nvidia.com/gpu'))) problems.push(`${nameOf(m)}: no nodeSelector for GPU nodes`);
    if (!(spec?.tolerations ?? []).some((t: K8sObject) => t.key === 'nvidia.com/gpu')) problems.push(`${nameOf(m)}: no toleration for nvidia.com/gpu taints`);
    const env = resolveEnv(manifests, m.obj, container, 'template');
    const dataDir = env.AGENT_DATA_DIR;
    if (!dataDir || !(container?.volumeMounts ?? []).some((v: K8sObject) => v.mountPath === dataDir)) problems.push(`${nameOf(m)}: AGENT_DATA_DIR (${dataDir}) is not a mounted volume`);
  }
  return problems;
}

/** Every probe's port is one of its container's ports (by name or number). */
function probeProblems({ manifests }: Manifests): string[] {
  const problems: string[] = [];
  for (const m of manifests.filter((x) => WORKLOADS.has(x.obj?.kind))) {
    for (const c of containersOf(m.obj)) {
      const ports: K8sObject[] = c.ports ?? [];
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
        const port = c[probe]?.httpGet?.port ?? c[probe]?.tcpSocket?.port ?? c[probe]?.grpc?.port;
        if (c[probe] && !c[probe].exec && !ports.some((p) => p.name === port || p.containerPort === port)) problems.push(`${nameOf(m)}: the ${probe} of container ${c.name} uses port ${port}, which the container does not declare`);
      }
    }
  }
  return problems;
}

/** Data of the ConfigMap or Secret `name` (Secrets: stringData and base64 data), or undefined. */
function dataOf(manifests: Manifest[], kind: 'ConfigMap' | 'Secret', name: string): Record<string, string> | undefined {
  const m = find(manifests, kind, name);
  if (!m) return undefined;
  const decoded = Object.fromEntries(Object.entries((m.obj.data ?? {}) as Record<string, string>).map(([k, v]) => [k, kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v]));
  return { ...decoded, ...(m.obj.stringData ?? {}) };
}

function referenceProblems({ manifests }: Manifests): string[] {
  const problems: string[] = [];
  const needKey = (m: Manifest, kind: 'ConfigMap' | 'Secret', name: string, key: string | undefined, where: string) => {
    const data = dataOf(manifests, kind, name);
    if (!data) problems.push(`${nameOf(m)}: ${where} names ${kind} ${name}, which no manifest defines`);
    else if (key !== undefined && !(key in data)) problems.push(`${nameOf(m)}: ${where} names key ${key} of ${kind} ${name}, which it lacks`);
  };
  for (const m of manifests.filter((x) => WORKLOADS.has(x.obj?.kind))) {
    for (const c of containersOf(m.obj)) {
      for (const e of c.env ?? []) {
        if (e.valueFrom?.secretKeyRef) needKey(m, 'Secret', e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key, `${c.name} env ${e.name}`);
        if (e.valueFrom?.configMapKeyRef) needKey(m, 'ConfigMap', e.valueFrom.configMapKeyRef.name, e.valueFrom.configMapKeyRef.key, `${c.name} env ${e.name}`);
        if (e.valueFrom?.resourceFieldRef && e.valueFrom.resourceFieldRef.containerName && !containersOf(m.obj).some((x) => x.name === e.valueFrom.resourceFieldRef.containerName)) {
          problems.push(`${nameOf(m)}: ${c.name} env ${e.name} reads the resources of container ${e.valueFrom.resourceFieldRef.containerName}, which the pod lacks`);
        }
      }
      for (const from of c.envFrom ?? []) {
        if (from.configMapRef) needKey(m, 'ConfigMap', from.configMapRef.name, undefined, `${c.name} envFrom`);
        if (from.secretRef) needKey(m, 'Secret', from.secretRef.name, undefined, `${c.name} envFrom`);
      }
      const volumes: K8sObject[] = podSpecOf(m.obj)?.volumes ?? [];
      const claims: K8sObject[] = m.obj.spec?.volumeClaimTemplates ?? [];
      for (const mount of c.volumeMounts ?? []) {
        if (!volumes.some((v) => v.name === mount.name) && !claims.some((t) => t.metadata?.name === mount.name)) problems.push(`${nameOf(m)}: ${c.name} mounts volume ${mount.name}, which the pod does not define`);
      }
    }
    for (const v of podSpecOf(m.obj)?.volumes ?? []) {
      if (v.secret) needKey(m, 'Secret', v.secret.secretName, undefined, `volume ${v.name}`);
      if (v.configMap) needKey(m, 'ConfigMap', v.configMap.name, undefined, `volume ${v.name}`);
      if (v.persistentVolumeClaim && !find(manifests, 'PersistentVolumeClaim', v.persistentVolumeClaim.claimName)) problems.push(`${nameOf(m)}: volume ${v.name} claims ${v.persistentVolumeClaim.claimName}, which no manifest defines`);
    }
  }
  return problems;
}

/** A container's environment as the pod gets it: `secrets` says what a Secret's value becomes. */
function resolveEnv(manifests: Manifest[], obj: K8sObject, container: K8sObject, secrets: 'template' | Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container?.envFrom ?? []) if (from.configMapRef) Object.assign(env, dataOf(manifests, 'ConfigMap', from.configMapRef.name) ?? {});
  for (const e of container?.env ?? []) {
    const ref = e.valueFrom;
    if (!ref) env[e.name] = String(e.value ?? '');
    else if (ref.secretKeyRef) {
      const template = dataOf(manifests, 'Secret', ref.secretKeyRef.name)?.[ref.secretKeyRef.key];
      const value = secrets === 'template' ? template : (secrets[e.name] ?? template);
      if (value !== undefined) env[e.name] = value;
    } else if (ref.configMapKeyRef) {
      const value = dataOf(manifests, 'ConfigMap', ref.configMapKeyRef.name)?.[ref.configMapKeyRef.key];
      if (value !== undefined) env[e.name] = value;
    } else if (ref.fieldRef) env[e.name] = ref.fieldRef.fieldPath === 'spec.nodeName' ? 'gpu-node-1' : 'pod-0';
    else if (ref.resourceFieldRef) {
      const target = containersOf(obj).find((c) => c.name === (ref.resourceFieldRef.containerName ?? container.name));
      const [bucket, resource] = String(ref.resourceFieldRef.resource).split('.');
      const quantity = target?.resources?.[bucket]?.[resource];
      if (quantity !== undefined) env[e.name] = String(Math.ceil(quantityValue(quantity) / quantityValue(ref.resourceFieldRef.divisor ?? '1')));
    }
  }
  return env;
}

const SUFFIXES: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/** A Kubernetes quantity (`500m`, `64`, `512Gi`) as a number. */
function quantityValue(quantity: string | number): number {
  const match = /^(\d+(?:\.\d+)?)([a-zA-Z]*)$/.exec(String(quantity));
  if (!match || (match[2] && !(match[2] in SUFFIXES))) throw new Error(`"${quantity}" is not a quantity`);
  return Number(match[1]) * (match[2] ? SUFFIXES[match[2]] : 1);
}

/** ModelTrail's process containers: limits, hardening, probes on the ops convention, scrape annotations. */
function hardeningProblems({ manifests }: Manifests): string[] {
  const problems: string[] = [];
  for (const m of manifests.filter((x) => ['Deployment', 'DaemonSet'].includes(x.obj?.kind))) {
    const pod = podSpecOf(m.obj);
    const annotations = m.obj.spec?.template?.metadata?.annotations ?? {};
    for (const c of containersOf(m.obj).filter(isModelTrail)) {
      const where = `${nameOf(m)}: container ${c.name}`;
      for (const bucket of ['requests', 'limits']) for (const r of ['cpu', 'memory']) if (c.resources?.[bucket]?.[r] === undefined) problems.push(`${where} has no ${bucket}.${r}`);
      const sc = c.securityContext ?? {};
      if (!(sc.runAsNonRoot ?? pod?.securityContext?.runAsNonRoot)) problems.push(`${where} may run as root (runAsNonRoot)`);
      if (sc.readOnlyRootFilesystem !== true) problems.push(`${where} has a writable root filesystem`);
      if (sc.allowPrivilegeEscalation !== false) problems.push(`${where} allows privilege escalation`);
      if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${where} does not drop ALL capabilities`);

      const env = resolveEnv(manifests, m.obj, c, 'template');
      const gateway = sourceOfCommand(c) === 'gateway/src/main.ts';
      const portName = gateway ? 'http' : 'ops';
      const port = (c.ports ?? []).find((p: K8sObject) => p.name === portName);
      const expectedPort = gateway ? env.PORT : env.OPS_PORT;
      if (!port) problems.push(`${where} declares no port named ${portName}`);
      else if (String(port.containerPort) !== expectedPort) problems.push(`${where}: port ${portName} is ${port.containerPort}, but ${gateway ? 'PORT' : 'OPS_PORT'} is ${expectedPort}`);
      if (!gateway && env.OPS_HOST !== '0.0.0.0') problems.push(`${where}: OPS_HOST is ${env.OPS_HOST}, so the kubelet cannot reach the ops port`);
      if (gateway && env.HOST !== '0.0.0.0') problems.push(`${where}: HOST is ${env.HOST}, so the gateway cannot be reached`);
      for (const [probe, path] of [
        ['livenessProbe', '/health'],
        ['readinessProbe', '/ready'],
      ]) {
        const get = c[probe]?.httpGet;
        if (!get || get.path !== path || (get.port !== portName && String(get.port) !== String(port?.containerPort))) problems.push(`${where}: ${probe} is not GET ${path} on port ${portName}`);
      }
      if (annotations['prometheus.io/scrape'] !== 'true' || annotations['prometheus.io/path'] !== '/metrics' || annotations['prometheus.io/port'] !== String(port?.containerPort)) {
        problems.push(`${where}: the pod's prometheus.io annotations do not scrape /metrics on port ${port?.containerPort}`);
      }
    }
  }
  return problems;
}

/** Each Deployment says why it has its replica count, in a comment right above `replicas`. */
function replicaReasonProblems({ manifests }: Manifests): string[] {
  const problems: string[] = [];
  for (const m of ofKind(manifests, 'Deployment')) {
    const spec = m.doc.get('spec', true);
    const pair = isYamlMap(spec) ? spec.items.find((item) => isScalar(item.key) && item.key.value === 'replicas') : undefined;
    // The yaml package keeps a comment above a map's first key on the map itself.
    const first = isYamlMap(spec) && spec.items[0] === pair;
    const comment = pair && isScalar(pair.key) ? (pair.key.commentBefore ?? (first ? spec.commentBefore : undefined) ?? '') : '';
    if (!/Replicas: \d+/.test(comment) || !comment.includes(String(m.obj.spec?.replicas))) problems.push(`${nameOf(m)}: no "Replicas: ${m.obj.spec?.replicas ?? '?'}. <why>" comment above spec.replicas`);
  }
  return problems;
}

function disruptionProblems({ manifests }: Manifests): string[] {
  const problems: string[] = [];
  const budgets = ofKind(manifests, 'PodDisruptionBudget');
  for (const m of [...ofKind(manifests, 'Deployment'), ...ofKind(manifests, 'StatefulSet')]) {
    if ((m.obj.spec?.replicas ?? 1) < 2) continue;
    const labels = m.obj.spec?.template?.metadata?.labels;
    if (!budgets.some((b) => matches(b.obj.spec?.selector?.matchLabels, labels))) problems.push(`${nameOf(m)} runs ${m.obj.spec.replicas} replicas without a PodDisruptionBudget`);
  }
  return problems;
}

function serviceProblems({ manifests }: Manifests): string[] {
  const problems: string[] = [];
  const workloads = manifests.filter((x) => ['Deployment', 'DaemonSet', 'StatefulSet'].includes(x.obj?.kind));
  for (const s of ofKind(manifests, 'Service')) {
    const targets = workloads.filter((w) => matches(s.obj.spec?.selector, w.obj.spec?.template?.metadata?.labels));
    if (targets.length === 0) {
      problems.push(`${nameOf(s)} selects no pods`);
      continue;
    }
    for (const p of s.obj.spec?.ports ?? []) {
      const target = p.targetPort ?? p.port;
      if (!targets.some((w) => containersOf(w.obj).some((c) => (c.ports ?? []).some((cp: K8sObject) => cp.name === target || cp.containerPort === target)))) problems.push(`${nameOf(s)}: port ${p.name ?? p.port} targets ${target}, which its pods do not declare`);
    }
  }
  for (const m of [...ofKind(manifests, 'Deployment'), ...ofKind(manifests, 'StatefulSet'), ...ofKind(manifests, 'DaemonSet')]) {
    if (!matches(m.obj.spec?.selector?.matchLabels, m.obj.spec?.template?.metadata?.labels)) problems.push(`${nameOf(m)}: its selector does not match its pod template's labels`);
  }
  return problems;
}

const secretValues = (manifests: Manifest[]) => ofKind(manifests, 'Secret').flatMap((m) => Object.entries(dataOf(manifests, 'Secret', m.obj.metadata.name) ?? {}).map(([key, value]) => ({ m, key, value })));

function secretTemplateProblems({ manifests }: Manifests): string[] {
  return secretValues(manifests)
    .filter(({ value }) => !value.startsWith(PLACEHOLDER))
    .map(({ m, key }) => `${nameOf(m)}: ${key} is not a "${PLACEHOLDER}: ..." placeholder (no real secret belongs in these files)`);
}

// --- NATS --------------------------------------------------------------------------------------

interface NatsUser {
  password: string;
  permissions: unknown;
}

/** Users of a NATS config by name: the password's variable and the permissions, lists sorted. */
function natsUsers(conf: NatsConfMap): Map<string, NatsUser> {
  const users = natsConfAt(conf, 'authorization.users');
  const out = new Map<string, NatsUser>();
  if (!Array.isArray(users)) return out;
  const normal = (value: NatsConfValue | undefined): unknown => {
    if (value === undefined) return undefined;
    if (value instanceof NatsConfVariable) return `$${value.name}`;
    if (Array.isArray(value)) return value.map(normal).sort();
    if (isMap(value)) return Object.fromEntries(Object.keys(value).sort().map((k) => [k, normal(value[k])]));
    return value;
  };
  for (const user of users) {
    if (!isMap(user) || typeof user.user !== 'string') continue;
    out.set(user.user, { password: String(normal(user.password)), permissions: normal(user.permissions) });
  }
  return out;
}

function clusterNatsConf(manifests: Manifest[]): { conf: NatsConfMap | null; problems: string[] } {
  const sts = find(manifests, 'StatefulSet', 'nats');
  const volume = (podSpecOf(sts?.obj)?.volumes ?? []).find((v: K8sObject) => v.configMap);
  const data = volume ? dataOf(manifests, 'ConfigMap', volume.configMap.name) : undefined;
  const text = data?.['nats.conf'];
  if (!text) return { conf: null, problems: ['the NATS StatefulSet mounts no ConfigMap with a nats.conf'] };
  try {
    return { conf: parseNatsConf(text), problems: [] };
  } catch (error) {
    return { conf: null, problems: [`the NATS cluster's nats.conf does not parse: ${error instanceof Error ? error.message : String(error)}`] };
  }
}

function natsProblems({ manifests, natsConf }: Manifests): string[] {
  const sts = find(manifests, 'StatefulSet', 'nats');
  if (!sts) return ['no StatefulSet nats'];
  const problems: string[] = [];
  const replicas = sts.obj.spec?.replicas;
  if (replicas !== 3) problems.push(`the NATS StatefulSet has ${replicas} replicas, not 3`);
  const headless = find(manifests, 'Service', sts.obj.spec?.serviceName);
  if (!headless || headless.obj.spec?.clusterIP !== 'None') problems.push(`the NATS StatefulSet's serviceName ${sts.obj.spec?.serviceName} is not a headless Service`);
  if (!(sts.obj.spec?.volumeClaimTemplates ?? []).length) problems.push('the NATS StatefulSet claims no storage for JetStream');

  const { conf, problems: confProblems } = clusterNatsConf(manifests);
  problems.push(...confProblems);
  if (!conf) return problems;
  const container = containersOf(sts.obj)[0];
  const clusterPort = (container?.ports ?? []).find((p: K8sObject) => p.name === 'cluster')?.containerPort;
  const routes = natsConfAt(conf, 'cluster.routes');
  const expected = Array.from({ length: 3 }, (_, i) => `nats://${sts.obj.metadata.name}-${i}.${sts.obj.spec?.serviceName}:${clusterPort}`);
  if (!Array.isArray(routes) || routes.length !== 3) problems.push(`the NATS cluster config has ${Array.isArray(routes) ? routes.length : 'no'} routes, not 3`);
  else if (JSON.stringify([...routes].sort()) !== JSON.stringify(expected)) problems.push(`the NATS cluster routes ${JSON.stringify(routes)} are not the StatefulSet's pods ${JSON.stringify(expected)}`);
  if (!isMap(natsConfAt(conf, 'jetstream'))) problems.push('the NATS cluster config has no jetstream block');

  // The same users and permissions as infra/nats/nats.conf.
  const reference = natsUsers(parseNatsConf(natsConf));
  const cluster = natsUsers(conf);
  for (const [name, user] of reference) {
    const mine = cluster.get(name);
    if (!mine) problems.push(`NATS user ${name} of infra/nats/nats.conf is missing from the cluster config`);
    else if (JSON.stringify(mine) !== JSON.stringify(user)) problems.push(`NATS user ${name} differs from infra/nats/nats.conf: ${JSON.stringify(mine)} vs ${JSON.stringify(user)}`);
  }
  for (const name of cluster.keys()) if (!reference.has(name)) problems.push(`NATS user ${name} of the cluster config is not in infra/nats/nats.conf`);

  // Every variable the config reads is in the server's environment (or it refuses to start).
  const provided = new Set((container?.env ?? []).map((e: K8sObject) => e.name));
  const variables = new Set<string>();
  const collect = (value: NatsConfValue) => {
    if (value instanceof NatsConfVariable) variables.add(value.name);
    else if (Array.isArray(value)) value.forEach(collect);
    else if (isMap(value)) Object.values(value).forEach(collect);
  };
  collect(conf);
  for (const variable of variables) if (!provided.has(variable)) problems.push(`the NATS cluster config reads $${variable}, which the NATS container's environment lacks`);

  // Every process connects as a user the servers know.
  for (const m of manifests.filter((x) => ['Deployment', 'DaemonSet'].includes(x.obj?.kind))) {
    for (const c of containersOf(m.obj).filter(isModelTrail)) {
      const user = resolveEnv(manifests, m.obj, c, 'template').NATS_USER;
      if (!user || !cluster.has(user)) problems.push(`${nameOf(m)}: NATS_USER ${user} is not a user of the NATS cluster config`);
    }
  }
  return problems;
}

function eventStoreProblems({ manifests }: Manifests): string[] {
  const sts = find(manifests, 'StatefulSet', 'eventstoredb');
  if (!sts) return ['no StatefulSet eventstoredb'];
  const problems: string[] = [];
  const env = Object.fromEntries((containersOf(sts.obj)[0]?.env ?? []).map((e: K8sObject) => [e.name, e.value]));
  if (sts.obj.spec?.replicas !== 3) problems.push(`the EventStoreDB StatefulSet has ${sts.obj.spec?.replicas} replicas, not 3`);
  if (env.EVENTSTORE_CLUSTER_SIZE !== '3') problems.push(`EVENTSTORE_CLUSTER_SIZE is ${env.EVENTSTORE_CLUSTER_SIZE}, not 3`);
  const headless = find(manifests, 'Service', sts.obj.spec?.serviceName);
  if (!headless || headless.obj.spec?.clusterIP !== 'None') problems.push(`the EventStoreDB StatefulSet's serviceName ${sts.obj.spec?.serviceName} is not a headless Service`);
  if (env.EVENTSTORE_CLUSTER_DNS !== sts.obj.spec?.serviceName) problems.push(`EVENTSTORE_CLUSTER_DNS (${env.EVENTSTORE_CLUSTER_DNS}) is not the headless Service ${sts.obj.spec?.serviceName}`);
  for (const m of ofKind(manifests, 'Deployment')) {
    for (const c of containersOf(m.obj).filter(isModelTrail)) {
      const url = resolveEnv(manifests, m.obj, c, 'template').EVENTSTORE_URL;
      const host = url ? /^esdb(?:\+discover)?:\/\/([^:/?]+)/.exec(url)?.[1] : undefined;
      if (host !== sts.obj.spec?.serviceName) problems.push(`${nameOf(m)}: EVENTSTORE_URL ${url} does not point at the EventStoreDB cluster's Service ${sts.obj.spec?.serviceName}`);
    }
  }
  return problems;
}

// --- the configuration each process gets -----------------------------------------------------

/** Valid stand-ins for the Secrets' values, shaped as libs/config wants them. */
const STAND_INS: Record<string, string> = {
  DATABASE_URL: 'postgres://modeltrail:secret@postgres.example.internal:5432/modeltrail',
  ACTOR_SIGNING_KEY: Buffer.alloc(32, 7).toString('base64'),
  LOG_SIGNING_KEY: Buffer.alloc(32, 9).toString('base64'),
  API_TOKENS: 's3cr3t=ada@example.com',
  PLATFORM_ADMINS: 'ada@example.com',
  NATS_PASSWORD: 'mt_0123456789abcdef',
  AGENT_ID: '5b0c7f4e-8a51-4d44-9a43-3a1f2f0d9e11',
  AGENT_API_KEY: `mtk_${'a'.repeat(32)}_${'B'.repeat(43)}`,
};

function processConfigs(manifests: Manifest[]): Array<{ m: Manifest; container: K8sObject; source: string }> {
  return manifests
    .filter((x) => ['Deployment', 'DaemonSet'].includes(x.obj?.kind))
    .flatMap((m) => containersOf(m.obj).filter(isModelTrail).map((container) => ({ m, container, source: sourceOfCommand(container) ?? '' })));
}

/** With real secrets in place, every process's environment passes libs/config's checks. */
function configProblems({ manifests }: Manifests): string[] {
  const problems: string[] = [];
  for (const { m, container, source } of processConfigs(manifests)) {
    const env = resolveEnv(manifests, m.obj, container, STAND_INS);
    // The agent reads its id and key from the credentials volume (agent.yaml's command).
    if (source === 'services/agent/src/main.ts') Object.assign(env, { AGENT_ID: STAND_INS.AGENT_ID, AGENT_API_KEY: STAND_INS.AGENT_API_KEY });
    try {
      const config = loadConfig(env);
      if (config.env !== 'production') problems.push(`${nameOf(m)}: NODE_ENV is ${config.env}, not production`);
      if (source === 'services/lineage/src/main.ts') requireLogSigningKey(config);
      if (source !== 'services/agent/src/main.ts' && source !== 'services/relay/src/main.ts') requireActorSigningKey(config);
      if (source === 'services/agent/src/main.ts' && !config.agent.apiKey) problems.push(`${nameOf(m)}: the agent has no AGENT_API_KEY`);
      if (source === 'services/agent/src/main.ts' && config.access.actorSigningKey !== undefined) problems.push(`${nameOf(m)}: the agent holds ACTOR_SIGNING_KEY`);
    } catch (error) {
      problems.push(`${nameOf(m)}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return problems;
}

function problemsOf(all: Manifests): string[] {
  return [
    ...schemaProblems(all),
    ...fieldProblems(all),
    ...kustomizationProblems(all),
    ...processProblems(all),
    ...agentProblems(all),
    ...probeProblems(all),
    ...referenceProblems(all),
    ...hardeningProblems(all),
    ...replicaReasonProblems(all),
    ...disruptionProblems(all),
    ...serviceProblems(all),
    ...secretTemplateProblems(all),
    ...natsProblems(all),
    ...eventStoreProblems(all),
    ...configProblems(all),
  ];
}

// --- the suite ---------------------------------------------------------------------------------

/** A copy whose objects can be changed without touching the loaded ones (comments stay the originals'). */
function copyOf(all: Manifests): Manifests {
  return { ...all, files: [...all.files], kustomization: structuredClone(all.kustomization), manifests: all.manifests.map((m) => ({ ...m, obj: structuredClone(m.obj) })) };
}

const get = (all: Manifests, kind: string, name: string): K8sObject => {
  const m = find(all.manifests, kind, name);
  if (!m) throw new Error(`the manifests have no ${kind}/${name}`);
  return m.obj;
};

describe('infra/k8s manifests', () => {
  const all = loadManifests();

  it('parse, and hold the objects the platform needs', () => {
    const kinds = all.manifests.map((m) => m.obj.kind);
    for (const kind of ['Namespace', 'ConfigMap', 'Secret', 'Deployment', 'DaemonSet', 'StatefulSet', 'Service', 'PodDisruptionBudget']) expect(kinds).toContain(kind);
  });

  it.each([
    ['valid against the Kubernetes schema', schemaProblems],
    ['free of field names the Kubernetes API does not know', fieldProblems],
    ['all listed in kustomization.yaml', kustomizationProblems],
    ['a Deployment per process, each running a main.js built from an existing source', processProblems],
    ['the agent as a DaemonSet on GPU nodes', agentProblems],
    ['probes on declared container ports', probeProblems],
    ['Secrets, ConfigMaps, keys, volumes and claims that exist', referenceProblems],
    ['hardened containers with limits, ops probes and scrape annotations', hardeningProblems],
    ['a stated reason for each replica count', replicaReasonProblems],
    ['a PodDisruptionBudget for each replicated workload', disruptionProblems],
    ['Services that select pods and target declared ports', serviceProblems],
    ['Secret templates holding placeholders only', secretTemplateProblems],
    ['a 3-server NATS cluster with the users and permissions of infra/nats/nats.conf', natsProblems],
    ['a 3-node EventStoreDB cluster the processes point at', eventStoreProblems],
    ['an environment each process accepts once the secrets are real', configProblems],
  ])('are %s', (_what, check) => {
    expect(check(all)).toEqual([]);
  });

  it('keep a process from starting while a Secret still holds its placeholder', () => {
    for (const { m, container, source } of processConfigs(all.manifests)) {
      if (source === 'services/agent/src/main.ts' || source === 'services/relay/src/main.ts') continue;
      const env = resolveEnv(all.manifests, m.obj, container, 'template');
      expect(() => requireActorSigningKey(loadConfig(env))).toThrow(ConfigError);
    }
  });

  describe('report a broken copy', () => {
    const broken = (change: (copy: Manifests) => void): string[] => {
      const copy = copyOf(all);
      change(copy);
      return problemsOf(copy);
    };

    it.each<[string, (copy: Manifests) => void, RegExp]>([
      ['a port of the wrong type', (c) => (get(c, 'Deployment', 'datasets').spec.template.spec.containers[0].ports[0].containerPort = '9464'), /Deployment\/datasets.*containerPort must be integer/],
      [
        'a misspelt field name',
        (c) => {
          const container = get(c, 'StatefulSet', 'eventstoredb').spec.template.spec.containers[0];
          container.securityContex = container.securityContext;
          delete container.securityContext;
        },
        /eventstoredb.*spec\.template\.spec\.containers\[0\]: "securityContex" is not a field/,
      ],
      ['a probe on an undeclared port', (c) => (get(c, 'Deployment', 'registry').spec.template.spec.containers[0].readinessProbe.httpGet.port = 'metrics'), /registry.*readinessProbe of container registry uses port metrics/],
      [
        'a secret key that does not exist',
        (c) => (get(c, 'Deployment', 'lineage').spec.template.spec.containers[0].env.find((e: K8sObject) => e.name === 'LOG_SIGNING_KEY').valueFrom.secretKeyRef.key = 'LOG_KEY'),
        /lineage.*key LOG_KEY of Secret modeltrail-app, which it lacks/,
      ],
      ['a service without its Deployment', (c) => (c.manifests = c.manifests.filter((m) => !(m.obj.kind === 'Deployment' && m.obj.metadata.name === 'experiments'))), /no Deployment runs dist\/services\/experiments\/src\/main\.js/],
      ['a command that runs a file with no source', (c) => (get(c, 'Deployment', 'access').spec.template.spec.containers[0].command = ['node', 'dist/services/access/src/mian.js']), /access\/src\/mian\.ts does not exist/],
      ['an agent without GPUs', (c) => delete get(c, 'DaemonSet', 'agent').spec.template.spec.containers[0].resources.limits['nvidia.com/gpu'], /asks for no nvidia\.com\/gpu/],
      ['a NATS cluster of 2', (c) => (get(c, 'StatefulSet', 'nats').spec.replicas = 2), /NATS StatefulSet has 2 replicas/],
      [
        'a NATS permission that drifted from infra/nats/nats.conf',
        (c) => {
          const config = get(c, 'ConfigMap', 'nats-config');
          config.data['nats.conf'] = config.data['nats.conf'].replace('"mt.cmd.experiments.StartRun", ', '');
        },
        /NATS user scheduler differs from infra\/nats\/nats\.conf/,
      ],
      [
        'a NATS route missing',
        (c) => {
          const config = get(c, 'ConfigMap', 'nats-config');
          config.data['nats.conf'] = config.data['nats.conf'].replace(/^\s*nats:\/\/nats-2\.nats-headless:6222\n/m, '');
        },
        /has 2 routes, not 3/,
      ],
      ['an EventStoreDB cluster size that is not 3', (c) => (get(c, 'StatefulSet', 'eventstoredb').spec.template.spec.containers[0].env.find((e: K8sObject) => e.name === 'EVENTSTORE_CLUSTER_SIZE').value = '5'), /EVENTSTORE_CLUSTER_SIZE is 5/],
      ['a file left out of the kustomization', (c) => (c.kustomization.resources = c.kustomization.resources.filter((f: string) => f !== 'webhooks.yaml')), /does not list webhooks\.yaml/],
      ['a real value in a Secret template', (c) => (get(c, 'Secret', 'modeltrail-app').stringData.ACTOR_SIGNING_KEY = 'c2VjcmV0'), /ACTOR_SIGNING_KEY is not a "REPLACE ME: \.\.\." placeholder/],
      ['a writable root filesystem', (c) => (get(c, 'Deployment', 'gateway').spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false), /gateway.*writable root filesystem/],
      ['an ops port the process does not listen on', (c) => (get(c, 'ConfigMap', 'modeltrail-env').data.OPS_PORT = '9465'), /port ops is 9464, but OPS_PORT is 9465/],
      ['a configuration value libs/config refuses', (c) => (get(c, 'ConfigMap', 'modeltrail-env').data.EVENTSTORE_URL = 'http://eventstoredb-headless:2113'), /EVENTSTORE_URL: must be a esdb:\/\/ or esdb\+discover:\/\/ URL/],
    ])('%s', (_what, change, expected) => {
      const problems = broken(change);
      expect(problems.some((p) => expected.test(p))).toBe(true);
    });
  });

  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  (kubectl.status === 0 ? it : it.skip)(`build with kubectl kustomize${kubectl.status === 0 ? '' : ' (skipped: no kubectl on PATH)'}`, () => {
    const built = spawnSync('kubectl', ['kustomize', DIR], { encoding: 'utf8', maxBuffer: 32 * 1024 * 1024 });
    expect(built.stderr).toBe('');
    expect(built.status).toBe(0);
    const objects = parseAllDocuments(built.stdout) as Document[];
    expect(objects.map((d) => `${d.get('kind')}/${d.getIn(['metadata', 'name'])}`).sort()).toEqual(all.manifests.map((m) => `${m.obj.kind}/${m.obj.metadata.name}`).sort());
    for (const d of objects) if (d.get('kind') !== 'Namespace') expect(d.getIn(['metadata', 'namespace'])).toBe('modeltrail');
  });
});

describeWithNatsServerBinary('infra/k8s NATS cluster config', () => {
  const all = loadManifests();
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mt-k8s-nats-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** `nats-server -t` on the ConfigMap's nats.conf, in the NATS container's environment with `secrets` for its Secret values. */
  const check = (secrets: 'template' | 'generated') => {
    const sts = get(all, 'StatefulSet', 'nats');
    const container = sts.spec.template.spec.containers[0];
    const generated = Object.fromEntries((container.env ?? []).filter((e: K8sObject) => e.valueFrom?.secretKeyRef).map((e: K8sObject) => [e.name, `mt_${randomBytes(12).toString('hex')}`]));
    const env = resolveEnv(all.manifests, sts, container, secrets === 'template' ? 'template' : generated);
    const file = join(dir, 'nats.conf');
    writeFileSync(file, get(all, 'ConfigMap', 'nats-config').data['nats.conf']);
    const result = spawnSync(natsServerBinary(), ['-t', '-c', file], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 10_000 });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  };

  it('is accepted by nats-server with every password set', () => {
    const { status, output } = check('generated');
    expect(output).toContain('is valid');
    expect(status).toBe(0);
  });

  it("is refused by nats-server while a password is the template's placeholder", () => {
    const { status, output } = check('template');
    expect(output).not.toContain('is valid');
    expect(status).not.toBe(0);
  });
});

/**
 * The cluster config on three live servers on this machine: the ConfigMap's nats.conf with only
 * addresses, ports and directories changed (each change asserted, so a reshaped config fails
 * here rather than being silently skipped). It forms one JetStream cluster; the streams the
 * platform creates at one replica are raised to three as the nats-streams Job does, the
 * platform's own ensureEventsStream / ensureTelemetryStream keep them at three, and MT_EVENTS
 * still takes the relay's publishes with one server gone.
 */
describeWithNatsServerBinary('infra/k8s NATS cluster on three live servers', () => {
  const all = loadManifests();
  const sc = StringCodec();
  const servers: ChildProcess[] = [];
  const logs: string[] = ['', '', ''];
  const conns: NatsConnection[] = [];
  let dir: string;
  let clientPorts: number[] = [];
  let passwords: Record<string, string> = {};

  const connectAs = async (user: string, only?: number) => {
    const nc = await connect({ servers: (only === undefined ? clientPorts : [clientPorts[only]]).map((p) => `nats://127.0.0.1:${p}`), user, pass: passwords[user], name: `k8s-spec-${user}`, maxReconnectAttempts: 20, reconnectTimeWait: 200 });
    conns.push(nc);
    return nc;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mt-k8s-cluster-'));
    const sts = get(all, 'StatefulSet', 'nats');
    const container = sts.spec.template.spec.containers[0];
    passwords = Object.fromEntries(
      (container.env ?? []).filter((e: K8sObject) => e.valueFrom?.secretKeyRef).map((e: K8sObject) => [e.valueFrom.secretKeyRef.key, `mt_${randomBytes(12).toString('hex')}`]),
    );
    const env = Object.fromEntries((container.env ?? []).filter((e: K8sObject) => e.valueFrom?.secretKeyRef).map((e: K8sObject) => [e.name, passwords[e.valueFrom.secretKeyRef.key]]));
    const original: string = get(all, 'ConfigMap', 'nats-config').data['nats.conf'];
    clientPorts = [await freePort(), await freePort(), await freePort()];
    const routePorts = [await freePort(), await freePort(), await freePort()];
    const replace = (text: string, from: string | RegExp, to: string) => {
      const changed = text.replace(from, to);
      if (changed === text) throw new Error(`the cluster config no longer has ${String(from)}`);
      return changed;
    };
    for (let i = 0; i < 3; i++) {
      let conf = replace(original, 'listen: 0.0.0.0:4222', `listen: 127.0.0.1:${clientPorts[i]}`);
      conf = replace(conf, /http_port: 8222/, `http_port: ${await freePort()}`);
      conf = replace(conf, 'store_dir: "/data"', `store_dir: "${join(dir, `store-${i}`)}"`);
      conf = replace(conf, 'pid_file: "/var/run/nats/nats.pid"', `pid_file: "${join(dir, `nats-${i}.pid`)}"`);
      conf = replace(conf, 'listen: 0.0.0.0:6222', `listen: 127.0.0.1:${routePorts[i]}`);
      for (let j = 0; j < 3; j++) conf = replace(conf, `nats://nats-${j}.nats-headless:6222`, `nats://127.0.0.1:${routePorts[j]}`);
      const file = join(dir, `nats-${i}.conf`);
      writeFileSync(file, conf);
      const child = spawn(natsServerBinary(), ['-c', file], { env: { PATH: process.env.PATH, ...env, POD_NAME: `nats-${i}` }, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.on('data', (chunk: Buffer) => (logs[i] += chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => (logs[i] += chunk.toString()));
      servers.push(child);
    }
    // The cluster is formed once JetStream answers (a meta leader is elected).
    const admin = await eventually(() => connectAs('admin'), { timeoutMs: 15_000, intervalMs: 250 });
    await eventually(async () => (await admin.jetstreamManager()).getAccountInfo(), { timeoutMs: 30_000, intervalMs: 500 }).catch((error) => {
      throw new Error(`the JetStream cluster did not form: ${String(error)}\n${logs.join('\n---\n').slice(-4_000)}`);
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(conns.map((nc) => nc.close().catch(() => undefined)));
    await Promise.all(
      servers.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }),
    );
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('creates streams at JETSTREAM_REPLICAS copies with the platform code, and raises an existing one to them', async () => {
    const admin = await (await connectAs('admin', 0)).jetstreamManager();
    const settled = <T>(work: () => Promise<T>) => eventually(work, { timeoutMs: 30_000, intervalMs: 500 });
    // Created at three (as the relay does with JETSTREAM_REPLICAS=3 and EVENTS_STREAM_MAX_BYTES).
    const created = await settled(() => ensureEventsStream(admin, { streamName: 'R3_EVENTS', subjectPrefix: 'r3.evt', replicas: 3, maxBytes: 1_073_741_824 }));
    expect([created.config.num_replicas, created.config.max_bytes]).toEqual([3, 1_073_741_824]);
    // Made at one before the setting existed, then raised by the next start (as the scheduler does).
    const before = await settled(() => ensureTelemetryStream(admin, { streamName: 'R3_TELEMETRY', subjectPrefix: 'r3.telemetry.job' }));
    expect(before.config.num_replicas).toBe(1);
    const raised = await settled(() => ensureTelemetryStream(admin, { streamName: 'R3_TELEMETRY', subjectPrefix: 'r3.telemetry.job', replicas: 3 }));
    expect(raised.config.num_replicas).toBe(3);
    // Without the setting an existing stream keeps its copies.
    expect((await settled(() => ensureTelemetryStream(admin, { streamName: 'R3_TELEMETRY', subjectPrefix: 'r3.telemetry.job' }))).config.num_replicas).toBe(3);
  }, 90_000);

  it('keeps the platform streams at three replicas once raised, and MT_EVENTS takes publishes with a server down', async () => {
    const admin = await (await connectAs('admin')).jetstreamManager();
    const relay = await connectAs('relay');
    const scheduler = await connectAs('scheduler');
    // While the cluster settles (peers joining, stream leaders moving) a JetStream request can
    // time out or find too few peers; the relay and the scheduler retry the same way.
    const settled = <T>(work: () => Promise<T>) => eventually(work, { timeoutMs: 30_000, intervalMs: 500 });

    // As EventRelay.start and JobStatusPublisher.create do, then as the nats-streams Job does.
    await settled(async () => ensureEventsStream(await relay.jetstreamManager()));
    await settled(async () => ensureTelemetryStream(await scheduler.jetstreamManager()));
    for (const name of ['MT_EVENTS', 'MT_TELEMETRY']) {
      await settled(async () => {
        const info = await admin.streams.info(name);
        return admin.streams.update(name, { ...info.config, num_replicas: 3, ...(name === 'MT_EVENTS' ? { max_bytes: 32_212_254_720 } : {}) });
      });
      const cluster = await settled(async () => {
        const info = await admin.streams.info(name);
        const replicas = info.cluster?.replicas ?? [];
        if (!info.cluster?.leader || replicas.length !== 2 || !replicas.every((r) => r.current)) throw new Error(`${name} is on ${JSON.stringify(info.cluster)}`);
        return info.cluster;
      });
      expect(new Set([cluster.leader, ...(cluster.replicas ?? []).map((r) => r.name)])).toEqual(new Set(['nats-0', 'nats-1', 'nats-2']));
    }
    // A restarted relay and scheduler bring their streams in line again: the replicas stay.
    const events = await settled(async () => ensureEventsStream(await relay.jetstreamManager(), { duplicateWindowMs: 60_000 }));
    const telemetry = await settled(async () => ensureTelemetryStream(await scheduler.jetstreamManager()));
    expect(events.config.duplicate_window).toBe(60_000_000_000);
    expect(events.config.num_replicas).toBe(3);
    expect(events.config.max_bytes).toBe(32_212_254_720);
    expect(telemetry.config.num_replicas).toBe(3);

    // One server down: the other two keep the stream's quorum.
    const down = 2;
    const exited = new Promise((resolve) => servers[down].once('exit', resolve));
    servers[down].kill('SIGKILL');
    await exited;
    const survivor = await connectAs('relay', 0);
    const ack = await eventually(() => survivor.jetstream().publish('mt.evt.datasets.DatasetRegistered.v1', sc.encode('{}'), { msgID: 'k8s-spec-1', timeout: 2_000 }), { timeoutMs: 20_000, intervalMs: 500 });
    expect(ack.stream).toBe('MT_EVENTS');
    expect(ack.duplicate).toBe(false);
  }, 90_000);
});
