// The demo swarm's cast: who joins when, with how many pieces, and how its download goes — scaled to
// the demo's duration so a 20-second demo tells the same story as a 60-second one. Every peer that
// finishes and stays does so early enough for btda to revisit it before the end.
import type { PeerPlan } from './simulated-peer.ts';

const TRANSMISSION = { imitates: 'Transmission 3.00', peerIdPrefix: '-TR3000-', updates: 'batched-have' } as const;
const QBITTORRENT = { imitates: 'qBittorrent 4.5.2', peerIdPrefix: '-qB4520-', updates: 'have' } as const;
const ARIA2 = { imitates: 'aria2 1.36.0', peerIdPrefix: 'A2-1-36-0-', updates: 'bitfield' } as const;
const RTORRENT = { imitates: 'rTorrent 0.9.8', peerIdPrefix: '-lt0D80-', updates: 'silent' } as const;

/** `pieces` pieces, threshold `thresholdPieces`, demo of `durationS` seconds. */
export function demoPlans(durationS: number, pieces: number, thresholdPieces: number): PeerPlan[] {
  const at = (share: number) => Math.round(share * durationS * 10) / 10;
  const pct = (share: number) => Math.round(share * pieces);
  const s = (share: number) => `${at(share)} s`;
  return [
    { label: 'seed-1', ...TRANSMISSION, joinAt: 0, fromPieces: pieces, toPieces: pieces, doneAt: 0, describe: 'seed from the start' },
    { label: 'seed-2', ...RTORRENT, joinAt: 0, fromPieces: pieces, toPieces: pieces, doneAt: 0, describe: 'seed from the start' },
    {
      label: 'early', ...QBITTORRENT, joinAt: 0, fromPieces: pct(0.05), toPieces: pieces, doneAt: at(0.35), sendsPex: true,
      describe: `5% -> 100% at ${s(0.35)}, tells of 'hidden' (PEX)`,
    },
    {
      label: 'hidden', ...QBITTORRENT, joinAt: 0, fromPieces: pct(0.1), toPieces: pieces, doneAt: at(0.5), hidden: true,
      describe: `10% -> 100% at ${s(0.5)}, never announces`,
    },
    { label: 'halfway', ...ARIA2, joinAt: 0, fromPieces: pct(0.3), toPieces: pieces, doneAt: at(0.45), describe: `30% -> 100% at ${s(0.45)}` },
    {
      label: 'steady', ...TRANSMISSION, joinAt: 0, fromPieces: 0, toPieces: pieces, doneAt: at(0.55), requiresEncryption: true,
      describe: `0% -> 100% at ${s(0.55)}, requires encryption`,
    },
    { label: 'quiet', ...RTORRENT, joinAt: 0, fromPieces: pct(0.5), toPieces: pieces, doneAt: at(0.6), describe: `50% -> 100% at ${s(0.6)}, no haves` },
    { label: 'late', ...QBITTORRENT, joinAt: at(0.2), fromPieces: 0, toPieces: pieces, doneAt: at(0.7), describe: `joins at ${s(0.2)}: 0% -> 100% at ${s(0.7)}` },
    { label: 'slow', ...TRANSMISSION, joinAt: 0, fromPieces: 0, toPieces: pct(0.6), doneAt: durationS, describe: '0% -> 60% at the end' },
    {
      label: 'stuck',
      ...ARIA2,
      joinAt: 0,
      fromPieces: pct(0.9),
      toPieces: thresholdPieces - 2,
      doneAt: at(0.3),
      describe: `90% -> ${((100 * (thresholdPieces - 2)) / pieces).toFixed(0)}% at ${s(0.3)}, then stuck`,
    },
    {
      label: 'leaver',
      ...ARIA2,
      joinAt: 0,
      fromPieces: pct(0.2),
      toPieces: pieces,
      doneAt: at(0.5),
      leavesAtCompletion: true,
      describe: `20% -> 100% at ${s(0.5)}, leaves at once`,
    },
  ];
}
