// One iterative Kademlia lookup (BEP 5 `get_peers` or `find_node`): ask the closest nodes known, then the
// closer ones they name, until the K closest that answer have all been asked. Bounded in queries, in
// concurrency and in time. With `scrape` (BEP 33) the nodes are asked for Bloom filters instead of peers.
import type { BDict } from '../../bencode/decode.ts';
import { decodeNodes, decodePeer, type Family, type NodeInfo, type PeerInfo } from './compact.ts';
import type { Address, KrpcSocket } from './krpc-socket.ts';
import { compareDistance, K, type RoutingTable } from './routing-table.ts';

const ALPHA = 8;
const MAX_QUERIES = 300;

export interface Responder extends NodeInfo {
  token?: Buffer;
  BFsd?: Buffer;
  BFpe?: Buffer;
}

export interface LookupResult {
  /** Nodes that answered. */
  nodesAnswered: number;
  queriesSent: number;
  /** The K answering nodes closest to the target, closest first (announce and scrape use them). */
  closest: Responder[];
}

export interface LookupSetup {
  socket: KrpcSocket;
  table: RoutingTable;
  ownId: Buffer;
  family: Family;
  /** Asked as well when the table is short of K nodes (or always, with `forceBootstrap`). */
  bootstrap: Address[];
  /** Nodes of the other family named in answers (BEP 32), for the other node's table. */
  onOtherFamilyNode?: (node: NodeInfo) => void;
  /** BEP 43 `ro=1` in our queries. */
  readOnly?: boolean;
}

export interface LookupRequest {
  q: 'get_peers' | 'find_node';
  target: Buffer;
  scrape?: boolean;
  forceBootstrap?: boolean;
  timeoutMs: number;
  onValues?: (peers: PeerInfo[], from: Address) => void;
}

interface Candidate {
  id: Buffer | null;
  host: string;
  port: number;
  state: 'new' | 'asked' | 'answered' | 'failed';
  reply?: Responder;
}

export function runLookup(setup: LookupSetup, req: LookupRequest): { done: Promise<LookupResult>; abort: () => void } {
  const { socket, table, family } = setup;
  const candidates = new Map<string, Candidate>();
  let inflight = 0;
  let queriesSent = 0;
  let nodesAnswered = 0;
  let finished = false;
  let finish: (r: LookupResult) => void = () => {};
  const done = new Promise<LookupResult>((resolve) => (finish = resolve));
  const want = [family === 4 ? 'n4' : 'n6'];
  if (setup.onOtherFamilyNode) want.push(family === 4 ? 'n6' : 'n4');
  const args: Record<string, unknown> = { id: setup.ownId, want };
  if (req.q === 'get_peers') args.info_hash = req.target;
  else args.target = req.target;
  if (req.scrape) args.scrape = 1;
  if (setup.readOnly) args.ro = 1;

  const add = (id: Buffer | null, host: string, port: number) => {
    const key = `${host}:${port}`;
    if (!candidates.has(key) && !(id && id.equals(setup.ownId))) candidates.set(key, { id, host, port, state: 'new' });
  };
  for (const n of table.closest(req.target, K * 2)) add(n.id, n.host, n.port);
  if (req.forceBootstrap || table.count() < K) for (const b of setup.bootstrap) add(null, b.host, b.port);

  const end = () => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    const answered = [...candidates.values()].filter((c) => c.state === 'answered' && c.reply);
    answered.sort((a, b) => compareDistance(req.target, a.reply!.id, b.reply!.id));
    finish({ nodesAnswered, queriesSent, closest: answered.slice(0, K).map((c) => c.reply!) });
  };
  const timer = setTimeout(end, req.timeoutMs);

  const ask = (c: Candidate) => {
    c.state = 'asked';
    inflight++;
    queriesSent++;
    void socket.query(c, req.q, args).then((outcome) => {
      inflight--;
      if (finished) return;
      if (outcome.ok) onAnswer(c, outcome.r, outcome.from);
      else {
        c.state = 'failed';
        table.failed(c.host, c.port);
      }
      pump();
    });
  };

  const onAnswer = (c: Candidate, r: BDict, from: Address) => {
    const id = r.id;
    if (!Buffer.isBuffer(id) || id.length !== 20) {
      c.state = 'failed';
      return;
    }
    c.state = 'answered';
    c.id = id; // a node restarted with a new id is known under the new one from now on
    nodesAnswered++;
    table.seen({ id, host: c.host, port: c.port });
    const reply: Responder = { id, host: c.host, port: c.port };
    if (Buffer.isBuffer(r.token) && r.token.length <= 64) reply.token = r.token;
    if (Buffer.isBuffer(r.BFsd) && Buffer.isBuffer(r.BFpe)) [reply.BFsd, reply.BFpe] = [r.BFsd, r.BFpe];
    c.reply = reply;
    if (Array.isArray(r.values) && req.onValues) {
      const peers: PeerInfo[] = [];
      for (const v of r.values) {
        const p = Buffer.isBuffer(v) ? decodePeer(v) : null;
        if (p) peers.push(p);
      }
      if (peers.length) req.onValues(peers, from);
    }
    for (const [key, fam] of [['nodes', 4], ['nodes6', 6]] as const) {
      const buf = r[key];
      if (!Buffer.isBuffer(buf)) continue;
      for (const n of decodeNodes(buf, fam)) {
        if (fam === family) add(n.id, n.host, n.port);
        else setup.onOtherFamilyNode?.(n);
      }
    }
  };

  const pump = () => {
    if (finished) return;
    const live = [...candidates.values()].filter((c) => c.state !== 'failed');
    const unnamed = live.filter((c) => !c.id && c.state === 'new');
    const named = live.filter((c) => c.id).sort((a, b) => compareDistance(req.target, a.id!, b.id!));
    const frontier = named.slice(0, K);
    for (const c of [...unnamed, ...frontier]) {
      if (inflight >= ALPHA || queriesSent >= MAX_QUERIES) break;
      if (c.state === 'new') ask(c);
    }
    if (inflight === 0) end();
  };

  process.nextTick(pump);
  return {
    done,
    abort: () => end(),
  };
}
