// IPv6 with utp-native, in a child process of scripts/bench/utp.ts: `bind` listens on ::1, `connect`
// dials [::1]:9 from an IPv4 socket. Each prints one line; a hang is ended by the parent's time limit.
import { loadUtpNative } from './utp-socket.ts';

const utp = loadUtpNative();
const what = process.argv[2];
process.on('uncaughtException', (err) => {
  console.log(`uncaught exception: ${err.message} (${(err as NodeJS.ErrnoException).code ?? ''})`);
  process.exit(1);
});
if (what === 'bind') {
  const i = utp();
  i.on('error', (err) => console.log(`error: ${err.message}`));
  i.bind(0, '::1', () => {
    console.log(`listening on ${JSON.stringify(i.address())}`);
    process.exit(0);
  });
} else {
  const c = utp.connect(9, '::1');
  c.on('error', (err: Error) => console.log(`error: ${err.message}`));
  c.on('connect', () => console.log('connected'));
}
