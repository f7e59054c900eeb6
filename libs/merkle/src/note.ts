/**
 * Ed25519 keys and signatures in the C2SP signed-note format (c2sp.org/signed-note), the envelope
 * of checkpoints: a text, a blank line, then one line per signature,
 * `— <key name> <base64(4-byte key hash ‖ 64-byte signature)>`.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';

/** Signature type byte of Ed25519 in signed notes; it prefixes the public key in key hashes and verifier keys. */
const ED25519_TYPE = 0x01;
const ED25519_PUBLIC_KEY_SIZE = 32;
const ED25519_SIGNATURE_SIZE = 64;
/** DER prefix of a PKCS#8 Ed25519 private key; the 32-byte seed follows it. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** DER prefix of an SPKI Ed25519 public key; the 32-byte key follows it. */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** Starts every signature line: U+2014 EM DASH and a space. */
const SIGNATURE_LINE_START = '\u2014 ';
/** As golang.org/x/mod/sumdb/note: more signatures than this and the note is refused unread. */
const MAX_SIGNATURES = 100;

/** Signs note texts under one key name. */
export interface NoteSigner {
  readonly keyName: string;
  /** The raw 32-byte Ed25519 public key. */
  readonly publicKey: Buffer;
  /** First 4 bytes of SHA-256(key name ‖ "\n" ‖ 0x01 ‖ public key): which key signed, in each signature. */
  readonly keyHash: Buffer;
  /** The verifier key to hand to auditors (see verifierKey). */
  readonly verifierKey: string;
  /** The 64-byte Ed25519 signature of `message`. */
  sign(message: Buffer): Buffer;
}

/** A parsed verifier key. */
export interface NoteVerifier {
  readonly keyName: string;
  readonly keyHash: Buffer;
  readonly publicKey: Buffer;
  readonly key: KeyObject;
}

/**
 * A signer for `keyName` from the private key as configuration holds it: a PEM PKCS#8 string
 * (`-----BEGIN PRIVATE KEY-----`), the base64 of a 32-byte Ed25519 seed, or a KeyObject. Throws if
 * the key name is not a valid note key name or the key is not Ed25519.
 */
export function checkpointSigner(keyName: string, privateKey: string | KeyObject): NoteSigner {
  checkKeyName(keyName);
  const key = toPrivateKey(privateKey);
  const publicKey = rawPublicKey(createPublicKey(key));
  const keyHash = noteKeyHash(keyName, publicKey);
  return {
    keyName,
    publicKey,
    keyHash,
    verifierKey: verifierKey(keyName, publicKey),
    sign: (message) => sign(null, message, key),
  };
}

function toPrivateKey(privateKey: string | KeyObject): KeyObject {
  let key: KeyObject;
  if (typeof privateKey !== 'string') {
    key = privateKey;
  } else if (privateKey.trimStart().startsWith('-----BEGIN')) {
    key = createPrivateKey({ key: privateKey, format: 'pem' });
  } else {
    const seed = strictBase64(privateKey.trim());
    if (seed === undefined || seed.length !== 32) throw new Error('the signing key is neither a PEM PKCS#8 private key nor the base64 of a 32-byte Ed25519 seed');
    key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  }
  if (key.type !== 'private') throw new Error(`the signing key must be a private key, got a ${key.type} key`);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the signing key must be Ed25519, got ${key.asymmetricKeyType}`);
  return key;
}

function rawPublicKey(key: KeyObject): Buffer {
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the public key must be Ed25519, got ${key.asymmetricKeyType}`);
  const der = key.export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(der.length - ED25519_PUBLIC_KEY_SIZE));
}

function toRawPublicKey(publicKey: Buffer | string | KeyObject): Buffer {
  if (Buffer.isBuffer(publicKey)) {
    if (publicKey.length !== ED25519_PUBLIC_KEY_SIZE) throw new Error(`an Ed25519 public key is ${ED25519_PUBLIC_KEY_SIZE} bytes, got ${publicKey.length}`);
    return publicKey;
  }
  if (typeof publicKey === 'string') {
    if (publicKey.trimStart().startsWith('-----BEGIN')) return rawPublicKey(createPublicKey(publicKey));
    const raw = strictBase64(publicKey.trim());
    if (raw === undefined || raw.length !== ED25519_PUBLIC_KEY_SIZE) throw new Error('the public key is neither PEM nor the base64 of a 32-byte Ed25519 public key');
    return raw;
  }
  return rawPublicKey(publicKey.type === 'private' ? createPublicKey(publicKey) : publicKey);
}

/** The 4-byte key hash of signed notes: SHA-256(key name ‖ "\n" ‖ 0x01 ‖ public key)[0:4]. */
export function noteKeyHash(keyName: string, publicKey: Buffer): Buffer {
  return createHash('sha256')
    .update(keyName, 'utf8')
    .update('\n')
    .update(Buffer.from([ED25519_TYPE]))
    .update(publicKey)
    .digest()
    .subarray(0, 4);
}

/**
 * The verifier key in the note format, `<name>+<8 hex digits of key hash>+<base64(0x01 ‖ public key)>`,
 * what an auditor configures to check checkpoints. `publicKey`: raw 32 bytes, their base64, PEM, or a KeyObject.
 */
export function verifierKey(keyName: string, publicKey: Buffer | string | KeyObject): string {
  checkKeyName(keyName);
  const raw = toRawPublicKey(publicKey);
  return `${keyName}+${noteKeyHash(keyName, raw).toString('hex')}+${Buffer.concat([Buffer.from([ED25519_TYPE]), raw]).toString('base64')}`;
}

/** Parses and checks a verifier key (its key hash must match its name and key). Throws an Error naming the problem. */
export function parseVerifierKey(vkey: string): NoteVerifier {
  // the name and the hash have no +; the base64 key may
  const trimmed = vkey.trim();
  const first = trimmed.indexOf('+');
  const second = first < 0 ? -1 : trimmed.indexOf('+', first + 1);
  if (second < 0) throw new Error('a verifier key is <name>+<hash>+<key>: it has fewer than two +');
  const [keyName, hashHex, keyB64] = [trimmed.slice(0, first), trimmed.slice(first + 1, second), trimmed.slice(second + 1)];
  checkKeyName(keyName);
  if (!/^[0-9a-f]{8}$/.test(hashHex)) throw new Error(`the key hash of verifier key ${keyName} must be 8 lower-case hex digits, got ${JSON.stringify(hashHex)}`);
  const typed = strictBase64(keyB64);
  if (typed === undefined) throw new Error(`the key of verifier key ${keyName} is not valid base64`);
  if (typed[0] !== ED25519_TYPE) throw new Error(`verifier key ${keyName} has the signature type ${typed[0]}, only 1 (Ed25519) is known`);
  if (typed.length !== 1 + ED25519_PUBLIC_KEY_SIZE) throw new Error(`the Ed25519 key of verifier key ${keyName} must be ${ED25519_PUBLIC_KEY_SIZE} bytes, got ${typed.length - 1}`);
  const publicKey = Buffer.from(typed.subarray(1));
  const keyHash = noteKeyHash(keyName, publicKey);
  if (keyHash.toString('hex') !== hashHex) throw new Error(`the key hash ${hashHex} of verifier key ${keyName} does not match its name and key (expected ${keyHash.toString('hex')})`);
  const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' });
  return { keyName, keyHash, publicKey, key };
}

/** A new Ed25519 key pair as configuration would hold it: base64 seed and base64 raw public key. */
export function generateSigningKey(): { seed: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  return { seed: der.subarray(der.length - 32).toString('base64'), publicKey: rawPublicKey(publicKey).toString('base64') };
}

/** The signed note of `text` (which must end in a newline, with no blank line): text, blank line, signature line. */
export function signNote(text: string, signer: NoteSigner): string {
  checkNoteText(text);
  const signature = signer.sign(Buffer.from(text, 'utf8'));
  return `${text}\n${SIGNATURE_LINE_START}${signer.keyName} ${Buffer.concat([signer.keyHash, signature]).toString('base64')}\n`;
}

/**
 * Verifies a signed note with `verifier` and returns its text. Signatures by other keys are
 * allowed and ignored (a note may carry cosignatures), but the verifier's must be there and good.
 * Throws an Error naming the problem: malformed note, unknown key, bad signature.
 */
export function openNote(note: string, verifier: NoteVerifier): string {
  if (typeof note !== 'string') throw new TypeError(`a signed note is a string, got ${typeof note}`);
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new Error('malformed note: no blank line before the signatures');
  const text = note.slice(0, split + 1);
  checkNoteText(text);
  const block = note.slice(split + 2);
  if (!block.endsWith('\n')) throw new Error('malformed note: the signature block does not end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw new Error(`malformed note: ${lines.length} signatures, at most ${MAX_SIGNATURES} are read`);
  let found = false;
  for (const [n, line] of lines.entries()) {
    const sig = parseSignatureLine(line, n + 1);
    if (sig.keyName !== verifier.keyName || !sig.keyHash.equals(verifier.keyHash)) continue;
    found = true;
    if (sig.signature.length !== ED25519_SIGNATURE_SIZE) throw new Error(`bad signature by ${verifier.keyName}: ${sig.signature.length} bytes, an Ed25519 signature has ${ED25519_SIGNATURE_SIZE}`);
    if (!verify(null, Buffer.from(text, 'utf8'), verifier.key, sig.signature)) throw new Error(`bad signature by ${verifier.keyName}: it does not verify with key ${verifier.keyHash.toString('hex')}`);
  }
  if (!found) {
    const names = lines.map((line) => line.slice(SIGNATURE_LINE_START.length).split(' ')[0]).join(', ');
    throw new Error(`unknown key: the note has no signature by ${verifier.keyName}+${verifier.keyHash.toString('hex')} (signed by: ${names})`);
  }
  return text;
}

function parseSignatureLine(line: string, n: number): { keyName: string; keyHash: Buffer; signature: Buffer } {
  if (!line.startsWith(SIGNATURE_LINE_START)) throw new Error(`malformed note: signature line ${n} does not start with "— " (U+2014 and a space)`);
  const fields = line.slice(SIGNATURE_LINE_START.length).split(' ');
  if (fields.length !== 2 || fields[0] === '') throw new Error(`malformed note: signature line ${n} is not "— <key name> <base64 signature>"`);
  const bytes = strictBase64(fields[1]);
  if (bytes === undefined || bytes.length < 5) throw new Error(`malformed note: the signature on line ${n} is not base64 of a key hash and a signature`);
  return { keyName: fields[0], keyHash: bytes.subarray(0, 4), signature: bytes.subarray(4) };
}

function checkNoteText(text: string): void {
  if (text.length === 0 || !text.endsWith('\n')) throw new Error('malformed note: the text must be non-empty and end with a newline');
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(text)) throw new Error('malformed note: the text has a control character other than newline');
  if (text.includes('\n\n')) throw new Error('malformed note: the text has a blank line');
}

/** Key names are non-empty, with no white space and no +, as the verifier key format needs. */
function checkKeyName(keyName: string): void {
  if (typeof keyName !== 'string' || !/^[^\s+]+$/u.test(keyName)) throw new Error(`invalid key name ${JSON.stringify(keyName)}: it must be non-empty, without spaces or +`);
}

/** Decodes standard, padded base64, or undefined when `s` is anything else (Buffer.from skips junk). */
export function strictBase64(s: string): Buffer | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)) return undefined;
  const bytes = Buffer.from(s, 'base64');
  return bytes.toString('base64') === s ? bytes : undefined;
}
