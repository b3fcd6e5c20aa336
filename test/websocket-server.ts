import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type AppInput } from '../src/boot/app.js';
import { attachWebSocket, type WebSocketTransport } from '../src/graphql/websocket.js';
import { createLogger } from '../src/boot/logger.js';
import type { Services } from '../src/boot/services.js';

/** The app as `npm start` serves it, on a loopback port: both doors, and GraphQL over WebSocket. */
export async function serveWithWebSocket(
  services: Services,
  options: AppInput,
): Promise<{ server: Server; transport: WebSocketTransport; port: number; close(): Promise<void> }> {
  const server = createServer(createApp(services, createLogger('silent'), options));
  const transport = attachWebSocket(server, services, createLogger('silent'), options);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    transport,
    port: (server.address() as AddressInfo).port,
    async close() {
      await transport.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
