import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ContactProgress } from '../../src/evaluator/contact-progress.ts';

const bits = (n: number, pieces = 100) => {
  const b = Buffer.alloc(Math.ceil(pieces / 8));
  for (let i = 0; i < n; i++) b[i >> 3] |= 0x80 >> (i & 7);
  return b;
};

test('haves within the grace belong to the opening state, later ones only to the end', () => {
  const p = new ContactProgress(100, 98, 1000);
  assert.equal(p.bitfield(bits(10), 5000), true);
  p.have(50, 5500);
  p.have(51, 6000);
  assert.equal(p.openingPieces, 12);
  p.have(52, 6001);
  assert.equal(p.openingPieces, 12);
  assert.equal(p.endPieces, 13);
  assert.equal(p.openedAt, 5000);
  assert.equal(p.crossedAt, null);
});

test('a first have opens the state from nothing', () => {
  const p = new ContactProgress(100, 98, 0);
  assert.equal(p.have(3, 10), true);
  assert.equal(p.openingPieces, 1);
  assert.equal(p.have(100, 11), false);
});

test('crossing after the grace is recorded once; inside the grace it is the opening', () => {
  const p = new ContactProgress(100, 98, 100);
  p.bitfield(bits(96), 0);
  p.have(96, 50); // 97, still opening
  p.have(97, 200); // 98: crossed
  p.dontHave(97, 300);
  p.have(97, 400);
  assert.equal(p.openingPieces, 97);
  assert.equal(p.crossedAt, 200);

  const q = new ContactProgress(100, 98, 100);
  q.bitfield(bits(97), 0);
  q.have(97, 50);
  assert.equal(q.openingPieces, 98);
  q.haveAll(500);
  assert.equal(q.crossedAt, null, 'opened at the threshold: no crossing');
  assert.equal(q.complete, true);
});

test('latest bitfield wins; have_none clears; invalid bitfields are refused', () => {
  const p = new ContactProgress(100, 98, 0);
  p.bitfield(bits(40), 0);
  p.bitfield(bits(20), 10);
  assert.equal(p.endPieces, 20);
  assert.equal(p.openingPieces, 40);
  p.haveNone(20);
  assert.equal(p.endPieces, 0);
  assert.equal(p.bitfield(Buffer.alloc(3), 30), false);
  assert.equal(p.bitfield(Buffer.from([...bits(0, 100).subarray(0, 12), 0x01]), 30), false, 'spare bit');
  assert.equal(p.dontHave(200, 40), false);
});

test('lt_donthave before any state is harmless', () => {
  const p = new ContactProgress(10, 10, 0);
  assert.equal(p.dontHave(3, 0), true);
  assert.equal(p.hasState, false);
});
