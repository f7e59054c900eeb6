import { createHmac, hash, timingSafeEqual } from 'node:crypto';
import type { Msg } from 'nats';
import type { MessageBus } from './bus';
import { DEVELOPMENT_ACTOR_SIGNING_KEY, keyBytes } from '@modeltrail/config';
import { type MessageHeaders, ModelTrailError, UnauthenticatedError } from '@modeltrail/contracts';
import type { MessagingLogger } from './logger';

/**
 * Trusted calls between processes (who acts is part of the audit trail, so it must not be
 * whatever a request claims).
 *
 * A platform process (gateway, services) signs every request it sends with the shared actor
 * signing key (ACTOR_SIGNING_KEY): `Mt-Signature: v1.<timestamp ms>.<HMAC-SHA256, base64url>`
 * over the version tag, the subject as sent (namespace included), the actor, the correlation,
 * causation and command ids, the timestamp and the SHA-256 of the body. A responder refuses a
 * request without one (UNAUTHENTICATED "... has an unsigned actor") or with a wrong one, or one
 * signed more than 5 minutes away from its clock (UNAUTHENTICATED "... has a forged actor"), and
 * its handler is not called. Within those 5 minutes an intercepted request could be sent again
 * as is: commands carry a command id, so a replay appends nothing new.
 *
 * A GPU agent holds no signing key: it sends its own AGENT API key as `Mt-Credential`, accepted
 * only by definitions whose `callers` include `agent`, checked by the responder's
 * CredentialVerifier; the handler then sees the key's principal (`agent:<agentId>`) as actor.
 */
export const HEADER_SIGNATURE = 'Mt-Signature';
export const HEADER_CREDENTIAL = 'Mt-Credential';
export const ACTOR_SIGNATURE_VERSION = 'v1';
/** How far a signature's timestamp may be from the responder's clock. */
export const MAX_SIGNATURE_SKEW_MS = 5 * 60_000;

/** Signs and checks the actor of requests with the shared HMAC-SHA256 key. */
export class ActorSigner {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (!Buffer.isBuffer(key) || key.length < 32) throw new Error('the actor signing key must be at least 32 bytes');
    this.key = Buffer.from(key);
  }

  /** The `Mt-Signature` value of a request to `subject` (as sent, namespace included). */
  sign(subject: string, headers: MessageHeaders, body: Uint8Array, nowMs: number = Date.now()): string {
    const timestamp = Math.trunc(nowMs);
    return `${ACTOR_SIGNATURE_VERSION}.${timestamp}.${this.mac(subject, headers, body, timestamp).toString('base64url')}`;
  }

  /** Whether `signature` is this key's signature of the request, made within MAX_SIGNATURE_SKEW_MS of `nowMs`. */
  verify(subject: string, headers: MessageHeaders, body: Uint8Array, signature: string, nowMs: number = Date.now()): boolean {
    const match = /^v1\.(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(signature);
    if (!match) return false;
    const timestamp = Number(match[1]);
    if (!Number.isSafeInteger(timestamp) || Math.abs(nowMs - timestamp) > MAX_SIGNATURE_SKEW_MS) return false;
    const given = Buffer.from(match[2], 'base64url');
    const expected = this.mac(subject, headers, body, timestamp);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private mac(subject: string, headers: MessageHeaders, body: Uint8Array, timestamp: number): Buffer {
    const canonical = [
      ACTOR_SIGNATURE_VERSION,
      subject,
      headers.actor,
      headers.correlationId,
      headers.causationId ?? '',
      headers.commandId ?? '',
      String(timestamp),
      hash('sha256', body, 'hex'), // one-shot: a Hash object per request cost three times as much
    ].join('\n'); // no part can hold a line break (headers refuse them; subjects have none)
    return createHmac('sha256', this.key).update(canonical, 'utf8').digest();
  }
}

/** Who an agent credential authenticates. */
export interface VerifiedCredential {
  principal: string;
}

/** Checks an `Mt-Credential` (an API key); throws UnauthenticatedError when it is not accepted. */
export interface CredentialVerifier {
  verify(credential: string): Promise<VerifiedCredential>;
}

/**
 * How a responder checks the actor of each request: the signing key, and (for definitions that
 * agents may call) the verifier of agent credentials, or a factory given the responder's own
 * NATS connection (it is made once the connection exists).
 */
export interface ActorVerification {
  signingKey: Buffer;
  credentials?: CredentialVerifier | ((nc: MessageBus) => CredentialVerifier);
  /** The clock of the timestamp check (tests). */
  now?: () => number;
}

/**
 * Answers requests without checking who acts. Only for tests that explicitly ask for it (a
 * responder double that must accept anything): never in a service.
 */
export const UNVERIFIED_ACTORS_FOR_TESTS = 'unverified-actors-for-tests' as const;
export type ActorVerificationOption = ActorVerification | typeof UNVERIFIED_ACTORS_FOR_TESTS;

/** The checks a responder runs: the signer made once, the credential verifier resolved. */
export interface ResolvedActorVerification {
  signer: ActorSigner;
  credentials: CredentialVerifier | null;
  now: () => number;
}

/**
 * The actor signing key of the environment, as loadConfig reads it: ACTOR_SIGNING_KEY, or the
 * development key outside production. In production an unset or bad key throws: a responder or
 * client that was not given a key never falls back to trusting unsigned actors.
 */
export function actorSigningKeyFromEnvironment(env: NodeJS.ProcessEnv = process.env): Buffer {
  const production = env.NODE_ENV === 'production';
  const value = env.ACTOR_SIGNING_KEY || (production ? undefined : DEVELOPMENT_ACTOR_SIGNING_KEY);
  const bytes = value === undefined ? null : keyBytes(value);
  if (bytes === null) {
    throw new Error(
      production
        ? 'ACTOR_SIGNING_KEY is required when NODE_ENV=production: pass the configured key (requireActorSigningKey(config)) to the NATS responder and client'
        : 'ACTOR_SIGNING_KEY must be at least 32 bytes, base64 or hex',
    );
  }
  return bytes;
}

/** Resolves a responder's option: absent means the environment's key (never unchecked). */
export function resolveActorVerification(option: ActorVerificationOption | undefined, nc: MessageBus | undefined): ResolvedActorVerification | null {
  if (option === UNVERIFIED_ACTORS_FOR_TESTS) return null;
  const verification: ActorVerification = option ?? { signingKey: actorSigningKeyFromEnvironment() };
  let credentials: CredentialVerifier | null = null;
  if (typeof verification.credentials === 'function') {
    if (!nc) throw new Error('an agent credential verifier factory needs the responder connection');
    credentials = verification.credentials(nc);
  } else if (verification.credentials) {
    credentials = verification.credentials;
  }
  return { signer: new ActorSigner(verification.signingKey), credentials, now: verification.now ?? Date.now };
}

/**
 * Checks who acts in a request: a valid signature keeps the claimed actor; an accepted agent
 * credential (only where `callers` include `agent`) replaces it with the key's principal. Throws
 * UnauthenticatedError otherwise, logged at warn with the subject and the claimed actor.
 */
export async function authenticateActor(
  msg: Msg,
  headers: MessageHeaders,
  subject: string,
  callers: ReadonlyArray<'agent'> | undefined,
  verification: ResolvedActorVerification,
  logger: MessagingLogger,
): Promise<MessageHeaders> {
  const refuse = (message: string, reason: string): never => {
    logger.warn(`refused a request to ${subject} (${msg.subject}) claiming actor ${JSON.stringify(headers.actor)}: ${reason}`);
    throw new UnauthenticatedError(message, { subject });
  };
  const signature = msg.headers?.get(HEADER_SIGNATURE) ?? '';
  if (signature) {
    if (!verification.signer.verify(msg.subject, headers, msg.data, signature, verification.now())) {
      refuse(`request to ${subject} has a forged actor`, 'bad signature, or signed more than 5 minutes away from this clock');
    }
    return headers;
  }
  const credential = msg.headers?.get(HEADER_CREDENTIAL) ?? '';
  if (!credential) return refuse(`request to ${subject} has an unsigned actor`, 'no signature');
  if (!callers?.includes('agent')) return refuse(`request to ${subject} does not accept an agent credential: only signed platform processes may call it`, 'agent credential on a subject agents may not call');
  if (!verification.credentials) return refuse(`request to ${subject} cannot check agent credentials here`, 'no credential verifier configured');
  let verified: VerifiedCredential;
  try {
    verified = await verification.credentials.verify(credential);
  } catch (error) {
    if (error instanceof ModelTrailError && error.code !== 'UNAUTHENTICATED') throw error; // e.g. UNAVAILABLE: the caller may retry
    return refuse(`request to ${subject} has an agent credential that is not accepted`, error instanceof Error ? error.message : String(error));
  }
  return { ...headers, actor: verified.principal };
}
