// The physical baseline: a bare node:http server answering a fixed JSON body (of the size given in
// BODY_BYTES), keep-alive on. What the machine can do before any gateway work.
import { createServer } from 'node:http';

const size = Number(process.env.BODY_BYTES ?? 400);
const filler = 'x'.repeat(Math.max(0, size - 30));
const body = JSON.stringify({ data: { filler } });

const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  console.log(JSON.stringify({ listening: typeof address === 'object' && address ? address.port : 0 }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
