// Real .torrent files for tests, made with the `create-torrent` package from real content.
import createTorrent from 'create-torrent';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './temp-dir.ts';

export interface MadeTorrent {
  /** The .torrent file's bytes. */
  torrent: Buffer;
  /** Path of the .torrent file on disk. */
  path: string;
  /** Path of the content it describes. */
  contentPath: string;
  pieces: number;
  pieceLength: number;
}

/** Creates content of `size` bytes (deterministic from `seed`) and its .torrent in a temp folder. */
export async function makeTorrent(opts: {
  name?: string;
  size?: number;
  pieceLength?: number;
  trackers?: string[][];
  seed?: string;
  dir?: string;
}): Promise<MadeTorrent> {
  const name = opts.name ?? 'sample.bin';
  const size = opts.size ?? 1_000_000;
  const pieceLength = opts.pieceLength ?? 16_384;
  const dir = opts.dir ?? tempDir('btda-torrent-');
  const content = deterministicBytes(size, opts.seed ?? name);
  const contentPath = join(dir, name);
  writeFileSync(contentPath, content);
  const torrent = await new Promise<Buffer>((resolve, reject) =>
    createTorrent(contentPath, { name, pieceLength, announceList: opts.trackers ?? [], createdBy: 'btda tests', creationDate: new Date(0) },
      (err, t) => (err ? reject(err) : resolve(t))),
  );
  const path = join(dir, `${name}.torrent`);
  writeFileSync(path, torrent);
  return { torrent, path, contentPath, pieces: Math.ceil(size / pieceLength), pieceLength };
}

function deterministicBytes(size: number, seed: string): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(seed).digest();
  for (let off = 0; off < size; off += block.length) {
    block.copy(out, off);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}
