// The scripted swarm both shard tests crawl (test/cli/crawl-shard.test.ts on SQLite files, crawl-pg-shard on one
// PostgreSQL): peers whose trajectories say whether each is a confirmed download, so the count has a truth.
import type { Step } from './scripted-peer.ts';

/** The handshake step every script opens with. */
export const hs: Step = { handshake: true };

export const TRAJECTORIES: { name: string; script: (n: number) => Step[]; confirmed: boolean }[] = [
  ...[1, 2, 3].map((i) => ({ name: `finisher${i}`, script: (n: number) => [hs, { bitfield: n === 0 ? 10 : 100 }], confirmed: true })),
  ...[1, 2].map((i) => ({ name: `inContact${i}`, script: () => [hs, { bitfield: 97 }, { wait: 400 }, { have: [97, 98, 99] }], confirmed: true })),
  ...[1, 2].map((i) => ({ name: `seed${i}`, script: () => [hs, { haveAll: true as const }], confirmed: false })),
  { name: 'stuckBelow', script: () => [hs, { bitfield: 97 }], confirmed: false },
  { name: 'empty', script: () => [hs, { haveNone: true as const }], confirmed: false },
  { name: 'closer', script: () => [hs, { close: true as const }], confirmed: false },
];

/** Confirmed downloads in the swarm (pieces 100: threshold 98). */
export const TRUTH = TRAJECTORIES.filter((t) => t.confirmed).length;
