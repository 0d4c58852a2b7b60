// Free TCP/UDP ports on a loopback address: bind port 0 and read what the kernel chose. Another program
// could take the port before the client binds it; tests start clients right away and fail clearly if so.
import dgram from 'node:dgram';
import net from 'node:net';

export async function freeTcpPort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A port free for TCP and UDP on `host` (clients such as transmission bind both). */
export async function freePort(host = '127.0.0.1', tries = 20): Promise<number> {
  for (let i = 0; i < tries; i++) {
    const port = await freeTcpPort(host);
    const socket = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      socket.once('error', () => resolve(false));
      socket.bind(port, host, () => resolve(true));
    });
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    if (ok) return port;
  }
  throw new Error(`no free TCP+UDP port on ${host}`);
}

export { canBind } from '../../../src/cli/demo/swarm.ts';
