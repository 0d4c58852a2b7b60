import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PieceState, isValidBitfield, popcount } from '../../src/wire/piece-state.ts';

test('popcount', () => {
  assert.equal(popcount(Buffer.from([0xff, 0x01, 0x80, 0])), 10);
  assert.equal(popcount(new Uint8Array(0)), 0);
});

test('fromBitfield validates length and spare bits', () => {
  assert.equal(PieceState.fromBitfield(Buffer.from([0xff, 0xe0]), 11)?.count, 11);
  assert.equal(PieceState.fromBitfield(Buffer.from([0xff, 0xf0]), 11), null, 'spare bit set');
  assert.equal(PieceState.fromBitfield(Buffer.from([0xff]), 11), null, 'too short');
  assert.equal(PieceState.fromBitfield(Buffer.from([0xff, 0, 0]), 11), null, 'too long');
  assert.equal(PieceState.fromBitfield(Buffer.from([0xff]), 8)?.count, 8);
  assert.equal(isValidBitfield(Buffer.from([0x80]), 1), true);
  assert.equal(isValidBitfield(Buffer.from([0x40]), 1), false);
});

test('have sets once, counts once, refuses out of range', () => {
  const s = new PieceState(10);
  assert.equal(s.set(0), true);
  assert.equal(s.set(0), true);
  assert.equal(s.count, 1);
  assert.equal(s.set(9), true);
  assert.equal(s.has(9), true);
  assert.equal(s.set(10), false);
  assert.equal(s.set(-1), false);
  assert.equal(s.set(2 ** 32 - 1), false);
  assert.equal(s.count, 2);
  assert.deepEqual([...s.toBitfield()], [0x80, 0x40]);
});

test('have_all, have_none, remove, replace', () => {
  const s = new PieceState(11);
  s.setAll();
  assert.equal(s.count, 11);
  assert.equal(s.complete, true);
  assert.equal(isValidBitfield(s.toBitfield(), 11), true, 'no spare bits set by have_all');
  assert.equal(s.remove(3), true);
  assert.equal(s.remove(3), true);
  assert.equal(s.count, 10);
  assert.equal(s.remove(11), false);
  s.clear();
  assert.equal(s.count, 0);
  assert.equal(s.replaceWith(Buffer.from([0x0f, 0x00])), true);
  assert.equal(s.count, 4);
  assert.equal(s.replaceWith(Buffer.from([0x0f])), false);
  assert.equal(s.count, 4, 'invalid bitfield leaves the state');
});

test('property: the count always equals the bits set', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 200 }),
      fc.array(fc.tuple(fc.constantFrom('set', 'remove', 'all', 'none'), fc.nat(250)), { maxLength: 100 }),
      (pieces, ops) => {
        const s = new PieceState(pieces);
        for (const [op, i] of ops) {
          if (op === 'set') assert.equal(s.set(i), i < pieces);
          else if (op === 'remove') assert.equal(s.remove(i), i < pieces);
          else if (op === 'all') s.setAll();
          else s.clear();
        }
        const bits = s.toBitfield();
        assert.equal(s.count, popcount(bits));
        assert.equal(isValidBitfield(bits, pieces), true);
      },
    ),
  );
});
