// What btda announces when it does not listen: it takes part in the swarm only for the moment of the
// announce (`stopped` follows at once), so no other client is handed an address that never answers
// and the seeders/leechers btda measures do not count btda. With --passive it stays listed.
// Against the real bittorrent-tracker server, over HTTP and UDP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { HttpTrackerClient, parseAnnounceReply, escapeBytes } from '../../src/collectors/tracker/http-tracker.ts';
import { UdpTrackerClient } from '../../src/collectors/tracker/udp-tracker.ts';
import { TrackerCollector } from '../../src/collectors/tracker/tracker-collector.ts';
import type { PeerAddress } from '../../src/collectors/collector.ts';
import { announceHttpPeer, fakeTorrent, recordingContext, startRealTracker, waitFor } from '../helpers/tracker-server.ts';

const peerId = Buffer.from('-BT0001-abcdefghijkl');

/** The peer list another client gets when it announces (it appears at 10.9.9.9 through X-Forwarded-For). */
async function peersSeenByOther(httpPort: number, infoHash: Buffer): Promise<PeerAddress[]> {
  const path = `/announce?info_hash=${escapeBytes(infoHash)}&peer_id=${escapeBytes(randomBytes(20))}&port=7000&left=10&compact=1&numwant=200&event=started`;
  const body = await new Promise<Buffer>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: httpPort, path, headers: { 'x-forwarded-for': '10.9.9.9' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks)));
    });
    req.on('error', reject);
  });
  const reply = parseAnnounceReply(body);
  assert.ok(reply.ok, JSON.stringify(reply));
  return reply.value.peers;
}

for (const passive of [false, true]) {
  test(`${passive ? 'passive: btda stays listed' : 'not passive: btda gets the peers but no swarm lists it'} (HTTP and UDP, real tracker)`, async () => {
    const tracker = await startRealTracker();
    const torrent = fakeTorrent(1, [tracker.httpUrl, tracker.udpUrl]);
    const hash = Buffer.from(torrent.infoHash, 'hex');
    await announceHttpPeer(tracker.httpPort, hash, { ip: '10.0.0.1', port: 6881 });
    const ctx = recordingContext();
    const collector = new TrackerCollector({ torrents: [torrent], peerId, port: 6884, passive, numwant: 50, intervalS: 60, timeoutMs: 2000, udpRetransmitBaseMs: 500 });
    try {
      await collector.start(ctx);
      await waitFor(() => ctx.requests.length >= 2, 5000, 'an announce per tracker');
      // Both announces got the swarm's peer.
      assert.ok(ctx.requests.every((r) => r.error === null && r.received >= 1));
      assert.ok(ctx.peers.get(1)?.has('10.0.0.1:6881'));
      const ours = (p: PeerAddress) => p.ip === '127.0.0.1' && p.port === 6884;
      if (passive) {
        assert.ok((await peersSeenByOther(tracker.httpPort, hash)).some(ours));
        assert.equal(tracker.swarm(torrent.infoHash).incomplete, 3, 'the fake peer, btda and the other client');
      } else {
        await waitFor(() => tracker.swarm(torrent.infoHash).incomplete === 1, 5000, 'btda withdrawn');
        assert.equal((await peersSeenByOther(tracker.httpPort, hash)).filter(ours).length, 0);
        assert.equal(tracker.swarm(torrent.infoHash).incomplete, 2, 'the fake peer and the other client only');
      }
    } finally {
      await collector.stop();
      await tracker.close();
    }
    // After shutdown btda is gone either way.
    assert.equal(tracker.swarm(torrent.infoHash).incomplete, 2);
  });
}

test('why not port 0: the real tracker refuses it over HTTP, and over UDP lists our UDP source port instead (a dead endpoint again)', async () => {
  const tracker = await startRealTracker();
  const hash = randomBytes(20);
  const request = { infoHash: hash, peerId, port: 0, uploaded: 0, downloaded: 0, left: 10, numwant: 50, key: 1, event: 'started' as const };
  const httpClient = new HttpTrackerClient(tracker.httpUrl, { timeoutMs: 2000 });
  const udpClient = new UdpTrackerClient(tracker.udpUrl, { retransmitBaseMs: 500 });
  try {
    assert.deepEqual(await httpClient.announce(request), { ok: false, error: 'failure reason: invalid port' });
    assert.ok((await udpClient.announce(request)).ok);
    const listed = (await peersSeenByOther(tracker.httpPort, hash)).filter((p) => p.ip === '127.0.0.1');
    assert.equal(listed.length, 1);
    assert.notEqual(listed[0].port, 0);
  } finally {
    udpClient.close();
    await tracker.close();
  }
});
