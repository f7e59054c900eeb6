import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { checkpointBody, checkpointSigner, generateSigningKey, noteKeyHash, openCheckpoint, openNote, parseVerifierKey, signCheckpoint, signNote, verifierKey } from './index';

const ROOT = Buffer.from('5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328', 'hex');
const checkpoint = { origin: 'modeltrail.example.com/events', size: 8, root: ROOT, time: new Date('2026-12-02T05:40:00.123Z') };
// a key whose base64 has a +, as most do: a verifier key splits on its first two + only
let { seed, publicKey } = generateSigningKey();
while (!publicKey.includes('+')) ({ seed, publicKey } = generateSigningKey());
const signer = checkpointSigner('modeltrail.example.com/events', seed);
const vkey = verifierKey('modeltrail.example.com/events', Buffer.from(publicKey, 'base64'));

/** Replaces the one occurrence of `from` in `text`. */
function edit(text: string, from: string, to: string): string {
  expect(text.split(from)).toHaveLength(2);
  return text.replace(from, to);
}

describe('checkpoints', () => {
  it('are the tlog-checkpoint body with a time line, signed as a note', () => {
    const note = signCheckpoint(checkpoint, signer);
    const lines = note.split('\n');
    expect(lines.slice(0, 5)).toEqual(['modeltrail.example.com/events', '8', 'XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=', 'time 2026-12-02T05:40:00.123Z', '']);
    expect(lines[5]).toMatch(/^— modeltrail\.example\.com\/events [A-Za-z0-9+/]{91}=$/);
    expect(lines[6]).toBe('');
    expect(lines).toHaveLength(7);
    const sig = Buffer.from(lines[5].split(' ')[2], 'base64');
    expect(sig).toHaveLength(68);
    expect(sig.subarray(0, 4)).toEqual(signer.keyHash);
  });

  it('round-trip through openCheckpoint', () => {
    expect(signer.verifierKey).toBe(vkey);
    expect(openCheckpoint(signCheckpoint(checkpoint, signer), vkey)).toEqual(checkpoint);
    expect(openCheckpoint(signCheckpoint({ ...checkpoint, size: 0 }, signer), parseVerifierKey(vkey)).size).toBe(0);
    expect(openCheckpoint(signCheckpoint({ ...checkpoint, size: 2 ** 53 - 1 }, signer), vkey).size).toBe(2 ** 53 - 1);
  });

  it('take the key as PEM PKCS#8 or as a KeyObject too, with the same verifier key', () => {
    const key = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seed, 'base64')]), format: 'der', type: 'pkcs8' });
    const pem = key.export({ format: 'pem', type: 'pkcs8' }) as string;
    expect(checkpointSigner('modeltrail.example.com/events', pem).verifierKey).toBe(vkey);
    expect(checkpointSigner('modeltrail.example.com/events', key).verifierKey).toBe(vkey);
    expect(openCheckpoint(signCheckpoint(checkpoint, checkpointSigner('modeltrail.example.com/events', pem)), vkey)).toEqual(checkpoint);
    expect(() => checkpointSigner('k', 'not a key')).toThrow('the signing key is neither a PEM PKCS#8 private key nor the base64 of a 32-byte Ed25519 seed');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    expect(() => checkpointSigner('k', ec)).toThrow('the signing key must be Ed25519, got ec');
    expect(() => checkpointSigner('bad name', seed)).toThrow('invalid key name "bad name"');
    expect(() => checkpointSigner('a+b', seed)).toThrow('invalid key name "a+b"');
  });

  it('match the golang.org/x/mod/sumdb/note example byte for byte (key hash, verifier key, signature)', () => {
    // the example of that package's documentation: key hash = SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)[0:4]
    const vkeyGo = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
    const skeyGo = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz'; // base64(0x01 ‖ seed)
    const text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const note = `${text}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;
    const parsed = parseVerifierKey(vkeyGo);
    expect(noteKeyHash('PeterNeumann', parsed.publicKey).toString('hex')).toBe('c74f20a3');
    expect(verifierKey('PeterNeumann', parsed.publicKey)).toBe(vkeyGo);
    const peter = checkpointSigner('PeterNeumann', Buffer.from(skeyGo.split('+').slice(4).join('+'), 'base64').subarray(1).toString('base64'));
    expect(peter.verifierKey).toBe(vkeyGo);
    expect(signNote(text, peter)).toBe(note);
    expect(openNote(note, parsed)).toBe(text);
    expect(() => openNote(note.replace('cryptography', 'cryptographY'), parsed)).toThrow(/^bad signature by PeterNeumann/);
  });

  it('refuse a tampered body, a tampered signature, another key and another key name', () => {
    const note = signCheckpoint(checkpoint, signer);
    expect(() => openCheckpoint(edit(note, '\n8\n', '\n9\n'), vkey)).toThrow('bad signature by modeltrail.example.com/events: it does not verify with key');
    expect(() => openCheckpoint(edit(note, '.123Z', '.124Z'), vkey)).toThrow(/^bad signature/);
    const sigB64 = note.split('\n')[5].split(' ')[2];
    const sig = Buffer.from(sigB64, 'base64');
    sig[40] ^= 1;
    expect(() => openCheckpoint(edit(note, sigB64, sig.toString('base64')), vkey)).toThrow(/^bad signature by modeltrail.example.com\/events/);
    const other = checkpointSigner('modeltrail.example.com/events', generateSigningKey().seed);
    expect(() => openCheckpoint(signCheckpoint(checkpoint, other), vkey)).toThrow(/^unknown key: the note has no signature by modeltrail\.example\.com\/events\+[0-9a-f]{8} \(signed by: modeltrail\.example\.com\/events\)$/);
    const renamed = checkpointSigner('someone.else', seed);
    expect(() => openCheckpoint(signCheckpoint(checkpoint, renamed), vkey)).toThrow('(signed by: someone.else)');
    // a cosignature by another key is ignored; the verifier's own must be there
    const cosigned = `${signCheckpoint(checkpoint, signer)}${signCheckpoint(checkpoint, other).split('\n\n')[1]}`;
    expect(openCheckpoint(cosigned, vkey)).toEqual(checkpoint);
  });

  it('refuse malformed notes and bodies with messages that name the problem', () => {
    const resign = (body: string) => `${body}\n— ${signer.keyName} ${Buffer.concat([signer.keyHash, signer.sign(Buffer.from(body))]).toString('base64')}\n`;
    const body = checkpointBody(checkpoint);
    expect(openCheckpoint(resign(body), vkey)).toEqual(checkpoint);
    const cases: Array<[string, string | RegExp]> = [
      [edit(body, '\n8\n', '\n08\n'), 'malformed checkpoint: the size "08" is not a decimal integer without leading zeros'],
      [edit(body, '\n8\n', '\n-8\n'), 'malformed checkpoint: the size "-8"'],
      [edit(body, '\n8\n', '\n8.0\n'), 'malformed checkpoint: the size "8.0"'],
      [edit(body, '\n8\n', '\n9007199254740992\n'), 'malformed checkpoint: the size 9007199254740992 is beyond 9007199254740991'],
      [edit(body, 'XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=', 'XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQw=='), 'malformed checkpoint: the root is 31 bytes, not 32'],
      [edit(body, 'XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=', 'XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz-Nw7_RgQyg='), /the root .* is not standard base64/],
      [edit(body, 'time 2026-12-02T05:40:00.123Z\n', ''), 'malformed checkpoint: no "time <RFC 3339 UTC>" line'],
      [edit(body, 'time 2026-12-02T05:40:00.123Z\n', 'time 2026-12-02T05:40:00.123Z\ntime 2026-12-02T05:40:00.123Z\n'), 'malformed checkpoint: 2 time lines, one is allowed'],
      [edit(body, '05:40:00.123Z', '05:40:00.123+01:00'), 'malformed checkpoint: the time "2026-12-02T05:40:00.123+01:00" is not RFC 3339 in UTC'],
      [edit(body, '2026-12-02T', '2026-13-02T'), /the time "2026-13-02T05:40:00.123Z" is not RFC 3339/],
      ['modeltrail.example.com/events\n8\n', 'malformed checkpoint: the body has 2 line(s), at least 3 are needed (origin, size, root)'],
      [edit(body, 'modeltrail.example.com/events\n', '\n'), 'malformed checkpoint: the origin line is empty'],
      [edit(body, '\ntime', '\n\ntime'), 'malformed note: the text has a blank line'],
      [edit(body, 'time', 'time\t'), 'malformed note: the text has a control character other than newline'],
    ];
    for (const [text, message] of cases) expect(() => openCheckpoint(resign(text), vkey)).toThrow(message);
    // extension lines other than time are allowed and ignored (tlog-checkpoint)
    expect(openCheckpoint(resign(`${body}witness-count 2\n`), vkey)).toEqual(checkpoint);
  });

  it('refuse malformed signature blocks and verifier keys', () => {
    const note = signCheckpoint(checkpoint, signer);
    expect(() => openCheckpoint(note.replace('\n\n', '\n'), vkey)).toThrow('malformed note: no blank line before the signatures');
    expect(() => openCheckpoint(note.slice(0, -1), vkey)).toThrow('malformed note: the signature block does not end with a newline');
    expect(() => openCheckpoint(note.replace('— ', '- '), vkey)).toThrow('malformed note: signature line 1 does not start with "— " (U+2014 and a space)');
    expect(() => openCheckpoint(note.replace(/ ([^ ]+)\n$/, ' $1 extra\n'), vkey)).toThrow('malformed note: signature line 1 is not "— <key name> <base64 signature>"');
    expect(() => openCheckpoint(note.replace(/ ([^ ]+)\n$/, ' !!!!\n'), vkey)).toThrow('malformed note: the signature on line 1 is not base64 of a key hash and a signature');
    const [name, hash] = vkey.split('+');
    const key = vkey.slice(name.length + hash.length + 2);
    expect(() => parseVerifierKey(`${name}+${hash}`)).toThrow('a verifier key is <name>+<hash>+<key>: it has fewer than two +');
    expect(() => parseVerifierKey(`${name}+00000000+${key}`)).toThrow(`the key hash 00000000 of verifier key ${name} does not match its name and key`);
    expect(() => parseVerifierKey(`other+${hash}+${key}`)).toThrow('does not match its name and key');
    expect(() => parseVerifierKey(`${name}+${hash}+${Buffer.concat([Buffer.from([2]), Buffer.from(publicKey, 'base64')]).toString('base64')}`)).toThrow(`verifier key ${name} has the signature type 2, only 1 (Ed25519) is known`);
    expect(() => parseVerifierKey(`${name}+${hash}+AQID`)).toThrow(`the Ed25519 key of verifier key ${name} must be 32 bytes, got 2`);
    expect(() => parseVerifierKey(`${name}+XYZ+${key}`)).toThrow('must be 8 lower-case hex digits');
  });

  it('refuse to sign what they could not open', () => {
    expect(() => signCheckpoint({ ...checkpoint, origin: 'a\nb' }, signer)).toThrow('the checkpoint origin must be a non-empty line');
    expect(() => signCheckpoint({ ...checkpoint, size: -1 }, signer)).toThrow(RangeError);
    expect(() => signCheckpoint({ ...checkpoint, size: 1.5 }, signer)).toThrow(RangeError);
    expect(() => signCheckpoint({ ...checkpoint, root: ROOT.subarray(1) }, signer)).toThrow('the checkpoint root must be a 32-byte hash');
    expect(() => signCheckpoint({ ...checkpoint, time: new Date(NaN) }, signer)).toThrow('the checkpoint time must be a valid Date');
    expect(() => signCheckpoint({ ...checkpoint, time: new Date(Date.UTC(10000, 0, 1)) }, signer)).toThrow('the checkpoint time +010000-01-01T00:00:00.000Z is outside the years RFC 3339 can write');
  });
});
