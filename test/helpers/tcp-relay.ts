// A TCP relay in front of a local server (PostgreSQL in the tests), on loopback: taken down and brought back on
// the same port (the server unreachable: a restart, the network), or stalled (a server that stops answering).
import net from 'node:net';

/** A TCP relay to the server that can be taken down and brought back on the same port (the server unreachable), or stall (a server that stops answering). */
export async function relay(target: number) {
  const sockets = new Set<net.Socket>();
  let srv: net.Server | undefined;
  let port = 0;
  let stalled = false;
  const up = async () => {
    srv = net.createServer((c) => {
      const s = net.connect(target, '127.0.0.1');
      for (const [from, to] of [[c, s], [s, c]]) {
        sockets.add(from);
        from.on('error', () => {});
        from.on('close', () => sockets.delete(from));
        from.on('data', (d) => {
          if (!stalled) to.write(d);
        });
        from.on('end', () => to.end());
      }
    });
    await new Promise<void>((r) => srv!.listen(port, '127.0.0.1', () => r()));
    port = (srv.address() as net.AddressInfo).port;
  };
  const down = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => srv!.close(() => r()));
  };
  await up();
  return { port: () => port, up, down, stall: (on: boolean) => (stalled = on) };
}
