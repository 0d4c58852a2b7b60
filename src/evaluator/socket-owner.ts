// One set of socket listener functions for every connection (no closures per contact): each finds the
// object that reads its socket on the socket itself. A contact owns its socket first; a watched
// connection (watch.ts) takes it over without touching the listeners.
import type net from 'node:net';

/** What the shared socket listeners call: a Contact, or the watched connection it handed its socket to. */
/**
 * What a contact uses of its socket: a net.Socket, or any Duplex stream that connects and closes like one
 * (uTP). Kept to these members so that another transport slots in without touching the contact.
 */
export type PeerSocket = Pick<
  net.Socket,
  'on' | 'once' | 'write' | 'end' | 'destroy' | 'setNoDelay' | 'destroyed' | 'writable' | 'remoteAddress' | 'remotePort'
> & { connect(opts: { host: string; port: number }): unknown };

export interface SocketOwner {
  onError(err: NodeJS.ErrnoException): void;
  onDataEvent(chunk: Buffer): void;
  onClosed(): void;
  onConnect(): void;
}

const OWNER = Symbol('btda.socket-owner');
type OwnedSocket = PeerSocket & { [OWNER]?: SocketOwner };

function onSocketError(this: OwnedSocket, err: NodeJS.ErrnoException): void {
  this[OWNER]!.onError(err);
}
function onSocketData(this: OwnedSocket, chunk: Buffer): void {
  this[OWNER]!.onDataEvent(chunk);
}
function onSocketClosed(this: OwnedSocket): void {
  this[OWNER]!.onClosed();
}
function onSocketConnect(this: OwnedSocket): void {
  this[OWNER]!.onConnect();
}

/** The socket's events go to `owner` from now on (listeners are added only the first time). */
export function ownSocket(socket: PeerSocket, owner: SocketOwner): void {
  const owned = socket as OwnedSocket;
  const first = owned[OWNER] === undefined;
  owned[OWNER] = owner;
  if (!first) return;
  // The error listener stays for the socket's whole life: a late error must never go unhandled.
  socket.on('error', onSocketError);
  socket.on('data', onSocketData);
  socket.on('end', onSocketClosed);
  socket.on('close', onSocketClosed);
}

export function listenForConnect(socket: PeerSocket): void {
  socket.on('connect', onSocketConnect);
}
