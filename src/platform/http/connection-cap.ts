/**
 * A cap on concurrent connections per client address, against one client holding every socket
 * (slowloris and friends). Counts sockets on the server's connection event (TLS: the raw TCP
 * socket) and destroys the ones over the cap at once, before any byte is parsed.
 *
 * Behind a load balancer every connection comes from the balancer, so config turns the cap off
 * by default when TRUST_PROXY is set. Must never: look at headers (they can be forged).
 */
import type { Server } from 'node:net';

/** `clientOf` groups addresses into clients (e.g. an IPv6 /64 is one client, as rate limits count). */
export function installConnectionCap(server: Server, maxPerIp: number, clientOf: (address: string) => string = (a) => a): { open(address: string): number } {
  const open = new Map<string, number>();
  if (maxPerIp > 0) {
    // TLS servers emit 'connection' for the TCP socket too, before the handshake.
    server.on('connection', (socket) => {
      const address = clientOf(socket.remoteAddress ?? 'unknown');
      const count = (open.get(address) ?? 0) + 1;
      if (count > maxPerIp) {
        socket.destroy();
        return;
      }
      open.set(address, count);
      socket.once('close', () => {
        const left = (open.get(address) ?? 1) - 1;
        if (left <= 0) open.delete(address);
        else open.set(address, left);
      });
    });
  }
  return { open: (address) => open.get(clientOf(address)) ?? 0 };
}
