import { createHash } from 'node:crypto';
import { checkInclusion, hashFromHex, leafHash, openCheckpoint } from '@modeltrail/merkle';
// The hashing module only (node:crypto): not the package index, which brings the stores.
import { canonicalEvent, canonicalJson, GENESIS_HASH } from '../../../../libs/eventstore/src/hashing';
import { AUDIT_REPORT_FORMAT } from './audit.types';

/**
 * Offline verification of an audit report (audit.report.ts): pure, no network, no database,
 * nothing but node:crypto, libs/merkle and the event store's hashing.
 *
 * Checks, in order: the report's shape; its digest (SHA-256 over canonicalJson of the report
 * without `digest`); the checkpoint's signature with the verifier key given (or, failing that,
 * the report's own key, which proves integrity only, not who made the report); then for every
 * event of the appendix its hash (SHA-256 of the canonical event = metadata.hash), its leaf
 * hash (SHA-256(0x00 ‖ canonical event)) and its inclusion proof against the checkpoint's root
 * at the checkpoint's size; every claim's and gap's evidence against the appendix (same
 * stream, revision, position and type); and the hash chain of consecutive events of a stream.
 */

export interface VerifyCheck {
  check: string;
  ok: boolean;
  detail: string;
}

export interface VerifyResult {
  ok: boolean;
  checks: VerifyCheck[];
  /** One line per failed check: what fails, expected vs found. */
  failures: string[];
  /** Things that pass but limit what passing means (no verifier key given). */
  warnings: string[];
}

export interface VerifyOptions {
  /** The log's verifier key, obtained from the operator out of band (`<name>+<hash>+<base64>`). */
  verifierKey?: string;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const HEX64 = /^[0-9a-f]{64}$/;

export const ORIGIN_WARNING =
  'NO VERIFIER KEY GIVEN: the checkpoint was checked with the key the report itself carries. That proves the report is intact and self-consistent, NOT that the operator of the log signed it: anyone can make a report with a key of their own. Pass --key with the verifier key you obtained from the log operator.';

export function verifyReport(report: unknown, options: VerifyOptions = {}): VerifyResult {
  const checks: VerifyCheck[] = [];
  const warnings: string[] = [];
  const add = (check: string, ok: boolean, detail: string) => checks.push({ check, ok, detail });
  const done = (): VerifyResult => ({ ok: checks.every((c) => c.ok), checks, failures: checks.filter((c) => !c.ok).map((c) => `${c.check}: ${c.detail}`), warnings });

  // ---- shape ----
  const problems = shapeProblems(report);
  add('shape', problems.length === 0, problems.length === 0 ? `a ${AUDIT_REPORT_FORMAT} report` : problems.slice(0, 10).join('; ') + (problems.length > 10 ? `; and ${problems.length - 10} more` : ''));
  if (problems.length > 0) return done();
  const r = report as Obj;
  const events = r.events as Obj[];
  const checkpoint = r.checkpoint as Obj;
  const log = r.log as Obj;

  // ---- digest ----
  const { digest, ...body } = r;
  const recomputed = createHash('sha256').update(canonicalJson(body), 'utf8').digest('hex');
  const stated = (digest as Obj).value as string;
  add('digest', recomputed === stated, recomputed === stated ? `SHA-256 ${stated}` : `the report's content hashes to ${recomputed}, its digest says ${stated}: the report was edited after it was made`);

  // ---- checkpoint signature ----
  let key = options.verifierKey;
  if (!key) {
    key = log.verifierKey as string;
    warnings.push(ORIGIN_WARNING);
    add('key', true, `WARNING: ${ORIGIN_WARNING}`);
  } else if (key !== log.verifierKey) {
    add('key', true, `checking with the key given (${keyName(key)}); the report names ${String(log.verifierKey)}`);
  } else {
    add('key', true, `checking with the key given (${keyName(key)}), the one the report names`);
  }
  let root: Buffer | null = null;
  let size = checkpoint.treeSize as number;
  try {
    const opened = openCheckpoint(checkpoint.note as string, key);
    const mismatches: string[] = [];
    if (opened.size !== checkpoint.treeSize) mismatches.push(`the signed note says size ${opened.size}, checkpoint.treeSize says ${String(checkpoint.treeSize)}`);
    if (opened.root.toString('hex') !== checkpoint.rootHash) mismatches.push(`the signed note says root ${opened.root.toString('hex')}, checkpoint.rootHash says ${String(checkpoint.rootHash)}`);
    if (opened.origin !== log.origin) mismatches.push(`the signed note is of log "${opened.origin}", the report names "${String(log.origin)}"`);
    add('checkpoint signature', mismatches.length === 0, mismatches.length === 0 ? `signed by ${keyName(key)}: log ${opened.origin}, ${opened.size} leaves, root ${opened.root.toString('hex')}, made ${opened.time.toISOString()}` : mismatches.join('; '));
    root = opened.root;
    size = opened.size;
  } catch (error) {
    add('checkpoint signature', false, `the checkpoint note does not verify with ${keyName(key)}: ${error instanceof Error ? error.message : String(error)}`);
  }

  // ---- events ----
  for (const e of events) {
    const m = e.metadata as Obj;
    const name = `event ${String(e.id)} (${String(e.stream)}@${String(e.revision)}, position ${String(e.position)})`;
    let text: string;
    try {
      text = canonicalEvent(
        { id: e.id as string, stream: e.stream as string, revision: e.revision as number, type: e.type as string, data: e.data, actor: m.actor as string, correlationId: m.correlationId as string, causationId: (m.causationId ?? null) as string | null, occurredAt: m.occurredAt as string },
        m.prevHash as string,
        canonicalJson(e.data),
      );
    } catch (error) {
      add(`${name} hash`, false, `cannot be put in canonical form: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    const hash = createHash('sha256').update(text, 'utf8').digest('hex');
    add(`${name} hash`, hash === m.hash, hash === m.hash ? `SHA-256 of the canonical event = metadata.hash ${hash}` : `the event's content hashes to ${hash}, its metadata.hash says ${String(m.hash)}: its data or metadata was changed`);
    const leaf = leafHash(Buffer.from(text, 'utf8'));
    const leafHex = leaf.toString('hex');
    add(`${name} leaf`, leafHex === e.leafHash, leafHex === e.leafHash ? `leaf hash ${leafHex}` : `SHA-256(0x00 ‖ canonical event) is ${leafHex}, the report says leafHash ${String(e.leafHash)}`);
    if (!root) {
      add(`${name} inclusion`, false, 'not checked: the checkpoint did not verify, so there is no trusted root');
      continue;
    }
    let proof: Buffer[];
    try {
      proof = (e.proof as string[]).map((p) => hashFromHex(p));
    } catch (error) {
      add(`${name} inclusion`, false, `its proof holds a malformed hash: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    const verdict = checkInclusion(leaf, e.leafIndex as number, size, proof, root);
    add(`${name} inclusion`, verdict.ok, verdict.ok ? `leaf ${String(e.leafIndex)} of the tree of ${size} leaves with the signed root` : `leaf ${String(e.leafIndex)} is not proven in the tree of ${size} leaves: ${verdict.reason}`);
  }

  // ---- evidence ----
  const byId = new Map(events.map((e) => [e.id as string, e]));
  let cited = 0;
  for (const section of r.sections as Obj[]) {
    for (const kind of ['claims', 'gaps'] as const) {
      (section[kind] as Obj[]).forEach((c, i) => {
        const label = `${String(section.id)} ${kind === 'claims' ? 'claim' : 'gap'} ${i + 1} ("${clip(c.text as string)}")`;
        const wrong: string[] = [];
        for (const ev of c.evidence as Obj[]) {
          cited += 1;
          const e = byId.get(ev.eventId as string);
          if (!e) {
            wrong.push(`cites event ${String(ev.eventId)} (${String(ev.stream)}@${String(ev.revision)}), which is not in the report's events`);
            continue;
          }
          for (const field of ['stream', 'revision', 'position', 'type'] as const) {
            if (e[field] !== ev[field]) wrong.push(`cites event ${String(ev.eventId)} with ${field} ${String(ev[field])}, the event has ${String(e[field])}`);
          }
        }
        if (wrong.length) add(`evidence of ${label}`, false, wrong.join('; '));
      });
    }
  }
  if (!checks.some((c) => c.check.startsWith('evidence of ') && !c.ok)) add('evidence', true, `all ${cited} citations refer to events of the report with the same stream, revision, position and type`);

  // ---- hash chains ----
  const byStream = new Map<string, Obj[]>();
  for (const e of events) byStream.set(e.stream as string, [...(byStream.get(e.stream as string) ?? []), e]);
  let links = 0;
  let chainFailed = false;
  for (const [stream, list] of byStream) {
    const sorted = [...list].sort((a, b) => (a.revision as number) - (b.revision as number));
    for (let i = 0; i < sorted.length; i++) {
      const cur = sorted[i];
      const cm = cur.metadata as Obj;
      if (cur.revision === 0 && cm.prevHash !== GENESIS_HASH) {
        chainFailed = true;
        add(`chain of ${stream}`, false, `event ${String(cur.id)} is revision 0, but its prevHash is ${String(cm.prevHash)}, not the genesis hash`);
      }
      if (i === 0) continue;
      const prev = sorted[i - 1];
      if (prev.revision === cur.revision) {
        chainFailed = true;
        add(`chain of ${stream}`, false, `events ${String(prev.id)} and ${String(cur.id)} both claim revision ${String(cur.revision)}`);
        continue;
      }
      if ((cur.revision as number) !== (prev.revision as number) + 1) continue; // not consecutive: nothing to link
      links += 1;
      const expected = (prev.metadata as Obj).hash;
      if (cm.prevHash !== expected) {
        chainFailed = true;
        add(`chain of ${stream}`, false, `event ${String(cur.id)} (revision ${String(cur.revision)}) has prevHash ${String(cm.prevHash)}, but revision ${String(prev.revision)} (event ${String(prev.id)}) has hash ${String(expected)}`);
      } else {
        // positions grow with revisions within a stream
        if ((cur.position as number) <= (prev.position as number)) {
          chainFailed = true;
          add(`chain of ${stream}`, false, `revision ${String(cur.revision)} (event ${String(cur.id)}) is at position ${String(cur.position)}, not after revision ${String(prev.revision)} at ${String(prev.position)}`);
        }
      }
    }
  }
  if (!chainFailed) add('chains', true, `${links} link(s) between consecutive revisions of ${byStream.size} stream(s) hold`);
  return done();
}

function keyName(key: string): string {
  return `key "${key.split('+')[0]}"`;
}

function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** What is wrong with the report's shape (empty: nothing); each names the field. */
function shapeProblems(report: unknown): string[] {
  const out: string[] = [];
  if (!isObj(report)) return ['the report is not a JSON object'];
  const need = (cond: boolean, what: string) => {
    if (!cond) out.push(what);
  };
  need(report.format === AUDIT_REPORT_FORMAT, `format must be "${AUDIT_REPORT_FORMAT}", found ${JSON.stringify(report.format)}`);
  need(isObj(report.digest) && isStr(report.digest.value) && HEX64.test(report.digest.value), 'digest.value must be 64 lower-case hex digits');
  const cp = report.checkpoint;
  need(isObj(cp) && isStr(cp.note) && isInt(cp.treeSize) && isStr(cp.rootHash), 'checkpoint must have note (string), treeSize (integer) and rootHash (string)');
  const log = report.log;
  need(isObj(log) && isStr(log.origin) && isStr(log.verifierKey), 'log must have origin and verifierKey (strings)');
  if (!Array.isArray(report.events)) out.push('events must be a list');
  else {
    report.events.forEach((e, i) => {
      const at = `events[${i}]`;
      if (!isObj(e)) return out.push(`${at} must be an object`);
      need(isStr(e.id) && isStr(e.stream) && isInt(e.revision) && isInt(e.position) && isStr(e.type), `${at} must have id, stream, type (strings), revision and position (integers)`);
      need('data' in e, `${at}.data is missing`);
      const m = e.metadata;
      need(
        isObj(m) && isStr(m.actor) && isStr(m.correlationId) && (m.causationId === null || isStr(m.causationId)) && isStr(m.occurredAt) && isStr(m.prevHash) && isStr(m.hash),
        `${at}.metadata must have actor, correlationId, occurredAt, prevHash, hash (strings) and causationId (string or null)`,
      );
      need(isInt(e.leafIndex) && (e.leafIndex as number) >= 0, `${at}.leafIndex must be a non-negative integer`);
      need(isStr(e.leafHash), `${at}.leafHash must be a string`);
      need(Array.isArray(e.proof) && e.proof.every(isStr), `${at}.proof must be a list of hex strings`);
      return undefined;
    });
  }
  if (!Array.isArray(report.sections)) out.push('sections must be a list');
  else {
    report.sections.forEach((s, i) => {
      const at = `sections[${i}]`;
      if (!isObj(s)) return out.push(`${at} must be an object`);
      need(isStr(s.id) && isStr(s.title), `${at} must have id and title`);
      need(Array.isArray(s.modelCard) && Array.isArray(s.annexIV), `${at} must list modelCard and annexIV`);
      for (const kind of ['claims', 'gaps'] as const) {
        const items = s[kind];
        if (!Array.isArray(items)) {
          out.push(`${at}.${kind} must be a list`);
          continue;
        }
        items.forEach((c, j) => {
          const cat = `${at}.${kind}[${j}]`;
          if (!isObj(c) || !isStr(c.text) || !Array.isArray(c.evidence)) return out.push(`${cat} must have text and evidence`);
          c.evidence.forEach((ev, k) => need(isObj(ev) && isStr(ev.eventId) && isStr(ev.stream) && isInt(ev.revision) && isInt(ev.position) && isStr(ev.type), `${cat}.evidence[${k}] must have eventId, stream, type, revision and position`));
          return undefined;
        });
      }
      return undefined;
    });
  }
  return out;
}
