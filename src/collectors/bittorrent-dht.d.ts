// The part of bittorrent-dht (v11, no published types) that btda uses. See node_modules/bittorrent-dht/client.js.
declare module 'bittorrent-dht' {
  import { EventEmitter } from 'node:events';
  import type { AddressInfo } from 'node:net';

  export interface DhtNodeAddress {
    host: string;
    port: number;
    /** 20-byte node id; with it addNode() puts the node into the table at once, without a ping. */
    id?: Buffer | Uint8Array | string;
  }

  export interface DhtOptions {
    nodeId?: Buffer | string;
    /** false: no bootstrap at all; an array of 'host:port' strings or {host, port}; omitted: the public routers. */
    bootstrap?: false | Array<string | DhtNodeAddress>;
    /** Our own address: announces are also stored in our own table. Not the bind address (see listen()). */
    host?: string | false;
    concurrency?: number;
    timeBucketOutdated?: number;
    maxAge?: number;
    /** k-rpc-socket: milliseconds before one query times out (default 2000). */
    timeout?: number;
  }

  /** The k-bucket routing table (only what we read). */
  export interface RoutingTable {
    count(): number;
    toArray(): Array<{ id: Buffer; host: string; port: number }>;
  }

  export default class DHT extends EventEmitter {
    constructor(opts?: DhtOptions);
    readonly nodeId: Buffer;
    readonly nodes: RoutingTable;
    listening: boolean;
    destroyed: boolean;
    ready?: boolean;
    listen(port?: number, address?: string, onlistening?: () => void): void;
    address(): AddressInfo;
    /** Returns an abort function (stops emitting peers of this lookup; the queries still finish). */
    lookup(infoHash: Buffer | string, cb?: (err: Error | null, nodesAnswered?: number) => void): () => void;
    announce(infoHash: Buffer | string, port?: number, cb?: (err: Error | null) => void): void;
    addNode(node: DhtNodeAddress): void;
    removeNode(id: Buffer | string): void;
    toJSON(): { nodes: Array<{ host: string; port: number }>; values: Record<string, unknown> };
    destroy(cb?: () => void): void;

    on(event: 'peer', listener: (peer: { host: string; port: number }, infoHash: Buffer, from: unknown) => void): this;
    on(event: 'ready' | 'listening' | 'close', listener: () => void): this;
    on(event: 'error' | 'warning', listener: (err: Error) => void): this;
    on(event: 'node', listener: (node: DhtNodeAddress) => void): this;
    on(event: 'announce', listener: (peer: { host: string; port: number }, infoHash: Buffer) => void): this;
    on(event: string, listener: (...args: any[]) => void): this;
  }
}
