// A child process that takes btda's PostgreSQL run lock and holds it: prints "locked" (or "refused: ...")
// and stays until killed or 60 s have passed (bounded, should the test forget it).
//   node --import tsx test/helpers/pg-lock-holder.ts postgres://...
import { PgStore } from '../../src/store/pg/pg-store.ts';

const store = await PgStore.open(process.argv[2]);
try {
  await store.acquireRunLock();
  process.stdout.write('locked\n');
  setTimeout(() => process.exit(0), 60_000);
} catch (err) {
  process.stdout.write(`refused: ${(err as Error).message}\n`);
  await store.close();
}
