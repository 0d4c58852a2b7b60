// Output to a pipe that closes early (`btda export ... | head -1`): the reader has what it wanted, so
// the rest of the output is dropped quietly instead of ending in a Node stack trace (EPIPE).
import type { Writable } from 'node:stream';

const guarded = new WeakSet<Writable>();

export function quietOnClosedPipe(stream: Writable): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    // the command still finishes its work (files written, database closed); only its printing stops
    stream.write = (() => true) as typeof stream.write;
  });
}
