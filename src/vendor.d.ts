// Type declarations for the small untyped libraries btda uses (only the parts we call).

declare module 'bencode' {
  /** Decoded bencode: byte strings come back as Uint8Array unless an encoding is given. */
  export type BencodeValue = number | Uint8Array | string | BencodeValue[] | { [key: string]: BencodeValue };
  function encode(data: unknown): Uint8Array;
  function decode(data: Uint8Array | string, start?: number, end?: number, encoding?: string): any;
  const bencode: { encode: typeof encode; decode: typeof decode; byteLength(data: unknown): number };
  export default bencode;
}

declare module 'magnet-uri' {
  interface MagnetInfo {
    infoHash?: string;
    infoHashV2?: string;
    xt?: string | string[];
    dn?: string | string[];
    name?: string | string[];
    tr?: string | string[];
    announce?: string[];
    [key: string]: unknown;
  }
  function magnet(uri: string): MagnetInfo;
  export default magnet;
}

declare module 'bittorrent-peerid' {
  function peerid(id: string | Uint8Array): { client: string; version?: string };
  export default peerid;
}

declare module 'create-torrent' {
  interface CreateTorrentOptions {
    name?: string;
    pieceLength?: number;
    announceList?: string[][];
    createdBy?: string;
    creationDate?: Date;
    private?: boolean;
    info?: Record<string, unknown>;
  }
  function createTorrent(
    input: string | Buffer | Array<string | Buffer>,
    opts: CreateTorrentOptions,
    cb: (err: Error | null, torrent: Buffer) => void,
  ): void;
  export default createTorrent;
}
