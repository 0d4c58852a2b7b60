// The query layer's parameters: `@name` becomes each dialect's placeholder, lists expand, names used twice
// bind once in PostgreSQL, a missing value is an error rather than a NULL.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bind } from '../../src/store/queries/reader.ts';

test('@name → ? (SQLite) and $n (PostgreSQL); lists expand; a name used twice binds once in PostgreSQL', () => {
  const sql = 'SELECT * FROM t WHERE a >= @since AND b IN (@runs) AND c < @since AND d = @flag';
  const p = { since: 'x', runs: [3, 4], flag: true, unused: 1 };
  assert.deepEqual(bind(sql, p, 'sqlite'), { text: 'SELECT * FROM t WHERE a >= ? AND b IN (?, ?) AND c < ? AND d = ?', values: ['x', 3, 4, 'x', 1] });
  assert.deepEqual(bind(sql, p, 'postgres'), { text: 'SELECT * FROM t WHERE a >= $1 AND b IN ($2, $3) AND c < $1 AND d = $4', values: ['x', 3, 4, 1] });
});

test('an empty list matches nothing; a missing parameter is an error', () => {
  assert.equal(bind('x IN (@runs)', { runs: [] }, 'postgres').text, 'x IN (NULL)');
  assert.throws(() => bind('x = @nope', {}, 'sqlite'), /@nope has no value/);
});
