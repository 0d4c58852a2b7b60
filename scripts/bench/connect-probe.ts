// Preloaded into a benchmarked process (`node --import tsx --import ./connect-probe.ts ...`): counts outgoing
// TCP connects (every contact starts with one, refused or not) and prints one line when the first and the
// PROBE_AT-th (default 1,000) are made, with the wall clock, so the parent can time them from the spawn.
// It changes nothing else.
import net from 'node:net';

const at = Number(process.env.PROBE_AT ?? 1000);
// a port that is not a peer's (the PostgreSQL server a crawl pushes to): its connects are no contacts
const ignorePort = Number(process.env.PROBE_IGNORE_PORT ?? 0);
let connects = 0;
const original = net.Socket.prototype.connect;
net.Socket.prototype.connect = function probedConnect(this: net.Socket, ...args: unknown[]) {
  // net.connect() passes its normalized [options, callback]; pg calls connect(port, host)
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  const port = typeof first === 'object' && first !== null ? Number((first as { port?: unknown }).port) : Number(first);
  if (ignorePort !== 0 && port === ignorePort) return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  connects++;
  if (connects === 1 || connects === at) process.stderr.write(`PROBE connects=${connects} at=${Date.now()}\n`);
  return (original as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof original;
