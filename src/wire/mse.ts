// Message Stream Encryption (MSE/PE), the obfuscated handshake most clients offer and some require
// (a transmission peer set to "require encryption" closes a plaintext handshake at once). Both sides:
// MseInitiator for our outgoing contacts, MseResponder for inbound connections. Each is fed the bytes
// of the socket and says what to write back, until it hands over the ciphers and the first plaintext
// bytes of the BitTorrent stream. No sockets here, so both can be fuzzed.
//
//   A → B  Ya, PadA
//   B → A  Yb, PadB
//   A → B  HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
//          ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
//   B → A  ENCRYPT(VC, crypto_select, len(PadD), PadD), ENCRYPT(payload stream)
//
// Y = 2^X mod P (768-bit P, G = 2), S = the shared secret, SKEY = the info hash, HASH = SHA-1,
// VC = 8 zero bytes, RC4 keys HASH('keyA', S, SKEY) (A's direction) and HASH('keyB', S, SKEY),
// each dropping 1024 keystream bytes first. Pads are 0-512 random bytes.
import { createDiffieHellman, createHash, randomBytes, type DiffieHellman } from 'node:crypto';
import { Rc4 } from './rc4.ts';

const P_HEX =
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563';
const P = BigInt(`0x${P_HEX}`);
const KEY_BYTES = 96;
const MAX_PAD = 512;
const VC_BYTES = 8;
/** crypto_provide / crypto_select bits. */
export const CRYPTO_PLAINTEXT = 1;
export const CRYPTO_RC4 = 2;
/** Our pads: short (the spec allows 0-512; they only blur packet sizes). */
const OUR_MAX_PAD = 64;
/** Bound on the initiator's initial payload (IA): a handshake plus a few messages. */
const MAX_IA = 16 * 1024;

export interface MseResult {
  /** The torrent (SKEY) the connection is for. */
  infoHash: Buffer;
  /** Cipher for what we send next, and for what we read next; null when plaintext was selected. */
  encrypt: Rc4 | null;
  decrypt: Rc4 | null;
  /** The first bytes of the BitTorrent stream, already decrypted (the responder's: IA + what followed). */
  payload: Buffer;
}

export type MseStep =
  /** Needs more bytes; `write` (if any) goes to the peer now. */
  | { status: 'more'; write?: Buffer }
  | { status: 'bad'; reason: string }
  | { status: 'done'; write?: Buffer; result: MseResult };

/** HASH('req2', infoHash): how an MSE initiator names the torrent; the responder keeps a map of these. */
export function obfuscatedInfoHash(infoHash: Uint8Array): Buffer {
  return sha1(Buffer.from('req2'), infoHash);
}

/** Our side of an outgoing encrypted contact. `initialPayload` is our BitTorrent handshake (sent as IA). */
export class MseInitiator {
  private readonly x = randomBytes(20);
  private buf: Buffer = Buffer.alloc(0);
  private keys: { encrypt: Rc4; decrypt: Rc4; vcPattern: Buffer } | null = null;
  private vcAt = -1;

  constructor(
    private readonly infoHash: Buffer,
    private readonly initialPayload: Buffer,
    private readonly provide = CRYPTO_RC4,
  ) {}

  /** The first packet: Ya and PadA. */
  hello(): Buffer {
    return Buffer.concat([publicKey(this.x), randomBytes(randomPadLength())]);
  }

  feed(chunk: Buffer): MseStep {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let write: Buffer | undefined;
    if (!this.keys) {
      if (this.buf.length < KEY_BYTES) return { status: 'more' };
      const s = sharedSecret(this.buf.subarray(0, KEY_BYTES), this.x);
      if (!s) return { status: 'bad', reason: 'invalid public key' };
      const encrypt = new Rc4(sha1(Buffer.from('keyA'), s, this.infoHash)).skip(1024);
      const decrypt = new Rc4(sha1(Buffer.from('keyB'), s, this.infoHash)).skip(1024);
      // B's encrypted VC is its keystream's first 8 bytes: look for them without advancing `decrypt`
      const vcPattern = decrypt.clone().apply(Buffer.alloc(VC_BYTES));
      this.keys = { encrypt, decrypt, vcPattern };
      const head = Buffer.alloc(VC_BYTES + 4 + 2 + 2);
      head.writeUInt32BE(this.provide, VC_BYTES);
      head.writeUInt16BE(0, VC_BYTES + 4); // len(PadC)
      head.writeUInt16BE(this.initialPayload.length, VC_BYTES + 6);
      write = Buffer.concat([
        sha1(Buffer.from('req1'), s),
        xor(obfuscatedInfoHash(this.infoHash), sha1(Buffer.from('req3'), s)),
        encrypt.apply(Buffer.concat([head, this.initialPayload])),
      ]);
      this.buf = Buffer.from(this.buf.subarray(KEY_BYTES)); // PadB and what follows
    }
    const keys = this.keys;
    // Synchronise on the encrypted VC somewhere in the first 512 bytes after Yb.
    if (this.vcAt < 0) {
      const at = this.buf.indexOf(keys.vcPattern);
      if (at < 0) {
        if (this.buf.length >= MAX_PAD + VC_BYTES) return { status: 'bad', reason: 'no verification constant' };
        return { status: 'more', write };
      }
      this.vcAt = at;
    }
    const start = this.vcAt + VC_BYTES;
    if (this.buf.length < start + 6) return { status: 'more', write };
    // decrypt the fixed part on a copy first: the cipher must advance only once everything is here
    const fixed = Buffer.from(this.buf.subarray(this.vcAt, start + 6));
    const probe = keys.decrypt.clone().apply(fixed);
    const select = probe.readUInt32BE(VC_BYTES);
    const padD = probe.readUInt16BE(VC_BYTES + 4);
    if (padD > MAX_PAD) return { status: 'bad', reason: 'PadD too long' };
    if (select !== CRYPTO_RC4 && select !== CRYPTO_PLAINTEXT) return { status: 'bad', reason: `crypto_select ${select}` };
    if ((select & this.provide) === 0) return { status: 'bad', reason: `crypto_select ${select} not offered` };
    if (this.buf.length < start + 6 + padD) return { status: 'more', write };
    keys.decrypt.apply(Buffer.from(this.buf.subarray(this.vcAt, start + 6 + padD)));
    const rest = Buffer.from(this.buf.subarray(start + 6 + padD));
    const rc4 = select === CRYPTO_RC4;
    if (rc4) keys.decrypt.apply(rest);
    this.buf = Buffer.alloc(0);
    return {
      status: 'done',
      write,
      result: { infoHash: this.infoHash, encrypt: rc4 ? keys.encrypt : null, decrypt: rc4 ? keys.decrypt : null, payload: rest },
    };
  }
}

/**
 * Our side of an inbound encrypted connection. `lookup` maps HASH('req2', info hash) (see
 * obfuscatedInfoHash) to the info hash of a torrent we measure.
 */
export class MseResponder {
  private readonly y = randomBytes(20);
  private buf: Buffer = Buffer.alloc(0);
  private secret: Buffer | null = null;
  private req1: Buffer | null = null;
  private req1At = -1;
  /** Once SKEY is known: the torrent, and A's cipher at the start of its encrypted part (cloned per read). */
  private skey: { infoHash: Buffer; decryptAtVc: Rc4 } | null = null;

  constructor(private readonly lookup: (obfuscated: Buffer) => Buffer | undefined) {}

  feed(chunk: Buffer): MseStep {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let write: Buffer | undefined;
    if (!this.secret) {
      if (this.buf.length < KEY_BYTES) return { status: 'more' };
      const s = sharedSecret(this.buf.subarray(0, KEY_BYTES), this.y);
      if (!s) return { status: 'bad', reason: 'invalid public key' };
      this.secret = s;
      this.req1 = sha1(Buffer.from('req1'), s);
      write = Buffer.concat([publicKey(this.y), randomBytes(randomPadLength())]);
      this.buf = Buffer.from(this.buf.subarray(KEY_BYTES)); // PadA and what follows
    }
    const s = this.secret;
    if (this.req1At < 0) {
      const at = this.buf.indexOf(this.req1!);
      if (at < 0) {
        if (this.buf.length >= MAX_PAD + 20) return { status: 'bad', reason: 'no req1 hash' };
        return { status: 'more', write };
      }
      this.req1At = at;
    }
    const b = this.buf.subarray(this.req1At + 20);
    const fixedEnd = 20 + VC_BYTES + 4 + 2;
    if (b.length < fixedEnd) return { status: 'more', write };
    if (!this.skey) {
      const infoHash = this.lookup(xor(b.subarray(0, 20), sha1(Buffer.from('req3'), s)));
      if (!infoHash) return { status: 'bad', reason: 'unknown info hash' };
      this.skey = { infoHash, decryptAtVc: new Rc4(sha1(Buffer.from('keyA'), s, infoHash)).skip(1024) };
    }
    const { infoHash } = this.skey;
    // a clone per read: the fields are decrypted from their start again until all of them are here
    const decrypt = this.skey.decryptAtVc.clone();
    const head = decrypt.apply(Buffer.from(b.subarray(20, fixedEnd)));
    if (!head.subarray(0, VC_BYTES).equals(Buffer.alloc(VC_BYTES))) return { status: 'bad', reason: 'wrong verification constant' };
    const provide = head.readUInt32BE(VC_BYTES);
    const padC = head.readUInt16BE(VC_BYTES + 4);
    if (padC > MAX_PAD) return { status: 'bad', reason: 'PadC too long' };
    if (b.length < fixedEnd + padC + 2) return { status: 'more', write };
    decrypt.apply(Buffer.from(b.subarray(fixedEnd, fixedEnd + padC)));
    const iaLength = decrypt.apply(Buffer.from(b.subarray(fixedEnd + padC, fixedEnd + padC + 2))).readUInt16BE(0);
    if (iaLength > MAX_IA) return { status: 'bad', reason: 'initial payload too long' };
    const iaStart = fixedEnd + padC + 2;
    if (b.length < iaStart + iaLength) return { status: 'more', write };
    const select = provide & CRYPTO_RC4 ? CRYPTO_RC4 : provide & CRYPTO_PLAINTEXT ? CRYPTO_PLAINTEXT : 0;
    if (select === 0) return { status: 'bad', reason: `crypto_provide ${provide}` };
    const ia = decrypt.apply(Buffer.from(b.subarray(iaStart, iaStart + iaLength)));
    const rest = Buffer.from(b.subarray(iaStart + iaLength));
    const rc4 = select === CRYPTO_RC4;
    if (rc4) decrypt.apply(rest);
    const encrypt = new Rc4(sha1(Buffer.from('keyB'), s, infoHash)).skip(1024);
    const reply = Buffer.alloc(VC_BYTES + 4 + 2);
    reply.writeUInt32BE(select, VC_BYTES);
    encrypt.apply(reply);
    this.buf = Buffer.alloc(0);
    return {
      status: 'done',
      write: write ? Buffer.concat([write, reply]) : reply,
      result: { infoHash, encrypt: rc4 ? encrypt : null, decrypt: rc4 ? decrypt : null, payload: Buffer.concat([ia, rest]) },
    };
  }
}

function sha1(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

/**
 * One DiffieHellman object for every handshake: creating one checks the prime (about 15 ms), while
 * setting a private key and using it takes 40 µs. Each use sets its own key first, and nothing
 * awaits in between, so handshakes never see each other's keys. Private keys are 160 random bits.
 */
let group: DiffieHellman | null = null;
function dh(privateKey: Buffer): DiffieHellman {
  group ??= createDiffieHellman(Buffer.from(P_HEX, 'hex'), Buffer.from([2]));
  group.setPrivateKey(privateKey);
  return group;
}

/** Y = 2^x mod P, 96 bytes. */
function publicKey(x: Buffer): Buffer {
  const g = dh(x);
  g.generateKeys(); // with a private key set, this computes the public key from it
  return leftPad(g.getPublicKey());
}

/** S = Y^x mod P; null for a public key outside 2..P-2 (it would give a trivial secret). */
function sharedSecret(peerKey: Uint8Array, x: Buffer): Buffer | null {
  const y = BigInt(`0x${Buffer.from(peerKey).toString('hex')}`);
  if (y < 2n || y > P - 2n) return null;
  return leftPad(dh(x).computeSecret(peerKey));
}

/** Big-endian numbers are KEY_BYTES long in MSE, leading zeros included. */
function leftPad(b: Buffer): Buffer {
  return b.length >= KEY_BYTES ? b : Buffer.concat([Buffer.alloc(KEY_BYTES - b.length), b]);
}

function randomPadLength(): number {
  return randomBytes(1)[0] % (OUR_MAX_PAD + 1);
}
