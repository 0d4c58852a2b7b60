// Who a peer is: the identity rules, in one place (README "Who a peer is"). A peer is one client session:
// the same torrent, address key, port and peer id. The writer asks `resolveSession` which stored session a
// contact belongs to and does what it says; no rule lives in the writer's SQL.
//
// - Outgoing: the session at (address key, port) with the contact's peer id.
// - Inbound: the session at the address key with the contact's peer id, whatever its port (a peer dials
//   from an ephemeral port; the port it listens on comes from its extension handshake, and users behind one
//   NAT may all advertise the same default port, so the port alone never joins two contacts).
// - Dual stack: the same peer id over the other address family, seen in the same run, is the same session,
//   when that peer id is known at no other address (a peer id some clients or bots use everywhere is not
//   an identity; and looking it up stays bounded).
// - A session at (address key, port) that was discovered but never contacted is claimed by the first peer
//   id seen there.
// - Another peer id at an address:port whose session is known: a new session. Outgoing, when the client
//   name and version are the same, it is a restart of that program (`restartOf`, its own class of
//   crossing); otherwise a different peer altogether (address reuse: DHCP, CGNAT, the default ports).
//   Inbound, it is another user behind the same address and never a restart.

/** What the identity rules need of a stored session (a row of `peers`). */
export interface StoredSession {
  id: number;
  addressKey: string;
  port: number;
  peerId: string | null;
  client: string | null;
  clientVersion: string | null;
  /** 4 or 6, from the stored network. */
  family: 4 | 6;
  lastSeen: string | null;
  latest: boolean;
}

/** A successful contact, as the identity rules see it. */
export interface Sighting {
  addressKey: string;
  /** Outgoing: the port dialled. Inbound: the advertised listen port, else the port it dialled from. */
  port: number;
  peerId: string | null;
  /** Client name decoded from the peer id, e.g. "Transmission 3.00". */
  client: string | null;
  /** Extension handshake `v`. */
  clientVersion: string | null;
  direction: 'out' | 'in';
  family: 4 | 6;
  /** ISO time the current run started: a dual-stack twin must have been seen since. */
  runStartedAt: string;
}

export type SessionDecision =
  /** The contact continues this stored session (claiming it when it had no peer id yet). */
  | { kind: 'join'; session: StoredSession; why: 'same-peer-id' | 'dual-stack' | 'claim' | 'no-peer-id' }
  /**
   * A new session; `demote` is the session that stops being the latest at this address:port. An inbound
   * peer whose advertised port is taken by another session (users behind one NAT) neither demotes it nor
   * counts as its restart: its row is not the latest at that address:port.
   */
  | { kind: 'new'; restartOf: StoredSession | null; demote: StoredSession | null; latest: boolean };

/** Sessions with the sighting's peer id at other addresses that `resolveSession` needs to see (more: shared id). */
export const ELSEWHERE_LIMIT = 2;

/**
 * @param withPeerId sessions of this torrent with the sighting's peer id: all of them at the sighting's
 *   address, and up to ELSEWHERE_LIMIT at other addresses
 * @param atEndpoint the latest session at (torrent, address key, sighting.port), if any
 */
export function resolveSession(s: Sighting, withPeerId: readonly StoredSession[], atEndpoint: StoredSession | undefined): SessionDecision {
  if (s.peerId !== null) {
    const here = withPeerId.filter((r) => r.addressKey === s.addressKey && (s.direction === 'in' || r.port === s.port));
    if (here.length > 0) return { kind: 'join', session: newest(here), why: 'same-peer-id' };
    const elsewhere = withPeerId.filter((r) => r.addressKey !== s.addressKey);
    const twin = elsewhere.length === 1 ? elsewhere[0] : undefined;
    if (twin && twin.family !== s.family && twin.lastSeen !== null && twin.lastSeen >= s.runStartedAt) {
      return { kind: 'join', session: twin, why: 'dual-stack' };
    }
  }
  if (!atEndpoint) return { kind: 'new', restartOf: null, demote: null, latest: true };
  if (atEndpoint.peerId === null) return { kind: 'join', session: atEndpoint, why: 'claim' };
  if (s.peerId === null) return { kind: 'join', session: atEndpoint, why: 'no-peer-id' };
  if (s.direction === 'in') return { kind: 'new', restartOf: null, demote: null, latest: false };
  return { kind: 'new', restartOf: sameProgram(s, atEndpoint) ? atEndpoint : null, demote: atEndpoint, latest: true };
}

/** A restart of the same program: same client name and version, by peer id and by extension handshake. */
export function sameProgram(s: Pick<Sighting, 'client' | 'clientVersion'>, r: Pick<StoredSession, 'client' | 'clientVersion'>): boolean {
  return s.client !== null && s.client === r.client && (s.clientVersion ?? '') === (r.clientVersion ?? '');
}

/** The columns of a `peers` row that the identity rules read. */
export interface SessionColumns {
  id: number;
  address: string;
  address_key: string;
  port: number;
  peer_id: string | null;
  client: string | null;
  client_version: string | null;
  last_seen: string | null;
  latest: number;
}

/** A `peers` row as the identity rules see it. */
export function storedSession(row: SessionColumns): StoredSession {
  return {
    id: row.id,
    addressKey: row.address_key,
    port: row.port,
    peerId: row.peer_id,
    client: row.client,
    clientVersion: row.client_version,
    family: row.address.includes(':') ? 6 : 4,
    lastSeen: row.last_seen,
    latest: row.latest === 1,
  };
}

function newest(rows: StoredSession[]): StoredSession {
  return rows.reduce((a, b) => ((b.lastSeen ?? '') > (a.lastSeen ?? '') ? b : a));
}
