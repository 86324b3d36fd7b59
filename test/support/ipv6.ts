// Whether this machine has an IPv6 loopback to bind (CI containers sometimes do not).
import dgram from 'node:dgram';

export function hasIPv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket({ type: 'udp6', ipv6Only: true });
    s.once('error', () => {
      try {
        s.close();
      } catch {
        /* never bound */
      }
      resolve(false);
    });
    s.bind(0, '::1', () => s.close(() => resolve(true)));
  });
}
