// One peer-wire session, transport-free (as webtorrent's bittorrent-protocol Wire): bytes from the peer go
// in through `feed`, bytes for the peer come out through the owner's `wireWrite`. Inside: the MSE/PE
// handshake (initiator or responder), the BitTorrent handshake and the bounded MessageReader. A contact
// (evaluator/contact.ts), an inbound connection and a metadata fetch (torrents/fetch-metadata.ts) each own
// one, so every one of them speaks MSE/PE and reads the handshake by the same rules.
//
// The hot path stays lean: the owner is one object called through fixed methods (no closure per event),
// decryption happens in place on the transport's own buffer, and what we send is encrypted on a copy only
// when RC4 was chosen (our messages are cached and shared between sessions).
import { HandshakeReader, type PeerHandshake } from './handshake.ts';
import { MessageReader } from './message-reader.ts';
import { MseInitiator, MseResponder } from './mse.ts';
import type { Rc4 } from './rc4.ts';

/** Why a session cannot go on (the owner maps it onto its own outcome). */
export type WireFailure = 'unknown-protocol' | 'unknown-info-hash' | 'wrong-info-hash' | 'bad-message';

/** What a session calls; implemented by the contact, the watch hand-over's source, and the metadata fetch. */
export interface WireSessionOwner {
  /** Bytes for the peer, encrypted already when RC4 was chosen. */
  wireWrite(bytes: Buffer): void;
  /**
   * Inbound only: the peer's handshake (or its MSE/PE SKEY) names `infoHash`; the owner calls
   * `session.prepare(...)` for a torrent it serves and returns true, or returns false (unknown-info-hash).
   */
  wireTorrent(infoHash: Buffer): boolean;
  /** The peer's handshake, info hash checked; false when the owner ended the session in it. */
  wireHandshake(hs: PeerHandshake): boolean;
  /** One message after the handshake (id -1: keep-alive); `payload` is a view of the transport's chunk. */
  wireMessage(id: number, payload: Buffer): void;
  wireFailed(reason: WireFailure): void;
}

export class WireSession {
  private readonly handshake = new HandshakeReader();
  private infoHash: Buffer | null = null;
  private ourHandshake: Buffer | null = null;
  private sentHandshake = false;
  private mse: MseInitiator | MseResponder | null = null;
  private mseDone = false;
  /** The RC4 ciphers of the stream once MSE/PE chose RC4 (null: plaintext). */
  encrypt: Rc4 | null = null;
  decrypt: Rc4 | null = null;
  /** Created by `prepare`; a watched connection takes it over (src/evaluator/watch.ts). */
  reader: MessageReader | null = null;
  private handshakeDone = false;
  private ended = false;

  constructor(
    private readonly owner: WireSessionOwner,
    /** Inbound: how an MSE/PE handshake names its torrent (HASH('req2', info hash) → info hash); null: plaintext only. */
    private readonly lookupObfuscated: ((obfuscated: Buffer) => Buffer | undefined) | null = null,
  ) {}

  /** The torrent of the session and our handshake for it; `maxMessageLength` bounds what the reader buffers. */
  prepare(infoHash: Buffer, ourHandshake: Buffer, maxMessageLength: number): void {
    this.infoHash = infoHash;
    this.ourHandshake = ourHandshake;
    this.reader = new MessageReader(maxMessageLength, (id, payload) => this.owner.wireMessage(id, payload));
  }

  /** True once an MSE/PE handshake completed (whichever cipher it chose). */
  get encrypted(): boolean {
    return this.mseDone;
  }
  /** The peer's handshake was read: messages follow. */
  get open(): boolean {
    return this.handshakeDone;
  }
  /** Inbound bytes are being read as an MSE/PE handshake that has not completed. */
  get negotiatingInbound(): boolean {
    return this.mse instanceof MseResponder;
  }

  /** Outgoing: our first bytes (after `prepare`), the plaintext handshake or the MSE/PE opening. */
  start(encrypted: boolean): void {
    if (!encrypted) return this.sendHandshake();
    // our BitTorrent handshake travels as the initial payload of the encrypted one
    this.sentHandshake = true;
    const mse = new MseInitiator(this.infoHash!, this.ourHandshake!);
    this.mse = mse;
    this.owner.wireWrite(mse.hello());
  }

  /** Our message to the peer, through the stream cipher once RC4 was chosen (on a copy: the bytes may be shared). */
  send(bytes: Buffer): void {
    this.owner.wireWrite(this.encode(bytes));
  }

  /** `bytes` as they go on the wire (a copy when encrypted), for a transport's last write (closePeerSocket). */
  encode(bytes: Buffer): Buffer {
    return this.encrypt ? this.encrypt.apply(Buffer.from(bytes)) : bytes;
  }

  /** No more messages: the reader's buffers go. */
  stop(): void {
    this.ended = true;
    this.reader?.stop();
  }

  /** Bytes from the peer (decrypted in place when RC4 was chosen: the chunk must be the session's to change). */
  feed(chunk: Buffer): void {
    if (this.ended) return;
    if (this.mse) {
      const payload = this.negotiate(chunk);
      if (payload === null || payload.length === 0) return;
      chunk = payload;
    } else if (this.decrypt) {
      this.decrypt.apply(chunk);
    }
    this.onPlaintext(chunk);
  }

  private fail(reason: WireFailure): void {
    this.stop();
    this.owner.wireFailed(reason);
  }

  private sendHandshake(): void {
    if (this.sentHandshake || !this.ourHandshake) return;
    this.sentHandshake = true;
    this.send(this.ourHandshake);
  }

  /** Feeds the MSE/PE handshake; the first plaintext bytes of the stream once it is done, else null. */
  private negotiate(chunk: Buffer): Buffer | null {
    const step = this.mse!.feed(chunk);
    if (step.status === 'bad') {
      this.fail(step.reason === 'unknown info hash' ? 'unknown-info-hash' : 'unknown-protocol');
      return null;
    }
    if (step.write) this.owner.wireWrite(step.write);
    if (step.status === 'more') return null;
    this.mse = null;
    this.mseDone = true;
    this.encrypt = step.result.encrypt;
    this.decrypt = step.result.decrypt;
    return step.result.payload;
  }

  private onPlaintext(chunk: Buffer): void {
    if (this.handshakeDone) {
      if (!this.reader!.feed(chunk) && this.reader!.failed) this.fail('bad-message');
      return;
    }
    const parsed = this.handshake.feed(chunk);
    if (parsed.status === 'bad') {
      // Inbound bytes that are not a plaintext handshake may be an encrypted one.
      if (!this.lookupObfuscated || this.infoHash || this.mseDone) return this.fail('unknown-protocol');
      this.mse = new MseResponder(this.lookupObfuscated);
      const payload = this.negotiate(parsed.received);
      if (payload !== null && payload.length > 0) this.onPlaintext(payload);
      return;
    }
    // Inbound: the info hash (first 48 bytes) picks the torrent; we answer before the peer id arrives.
    const infoHash = parsed.status === 'done' ? parsed.handshake.infoHash : parsed.infoHash;
    if (!this.infoHash && infoHash) {
      if (!this.owner.wireTorrent(infoHash) || !this.infoHash) return this.fail('unknown-info-hash');
      this.sendHandshake();
    }
    if (parsed.status !== 'done' || this.ended) return;
    const hs = parsed.handshake;
    if (!hs.infoHash.equals(this.infoHash!)) return this.fail('wrong-info-hash');
    this.handshakeDone = true;
    if (!this.owner.wireHandshake(hs) || this.ended) return;
    const rest = parsed.rest;
    if (rest.length > 0 && !this.reader!.feed(rest) && this.reader!.failed) this.fail('bad-message');
  }
}
