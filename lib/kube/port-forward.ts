import { type AddressInfo, type Socket, createServer } from 'node:net';
import { PortForward } from '@kubernetes/client-node';
import type { WebSocket } from 'ws';
import type { Cluster } from './client.js';

export interface Forward {
  /** The local port on 127.0.0.1 that reaches the pod's port. */
  port: number;
  close(): Promise<void>;
}

/** `kubectl port-forward` through the API: each local connection gets its own stream to the pod. */
export async function forwardPort(cluster: Cluster, namespace: string, pod: string, remotePort: number): Promise<Forward> {
  const forwarder = new PortForward(cluster.config);
  const open = new Set<Socket>();
  const server = createServer((socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    forwarder
      .portForward(namespace, pod, [remotePort], socket, null, socket)
      .then((stream) => {
        const ws = stream as unknown as WebSocket;
        ws.on('close', () => socket.destroy());
        socket.on('close', () => ws.close());
      })
      .catch(() => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
