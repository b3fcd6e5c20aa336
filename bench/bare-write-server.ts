// The write baseline: a bare node:http server over a pg Pool of the service's size (POOL_SIZE) on
// the database named by DATABASE_URL. `PUT /customers/<uuid>/concurrency-limit` with `{"limit": N}`
// runs one UPDATE … RETURNING on the settings table and answers `{"limit": N}`: what one write
// costs before any gateway work (keys, validation, events, caches, GraphQL). GET /metrics answers
// `db_statements_total`, the statements its pool has run, as the service's /metrics does.
import { createServer } from 'node:http';
import pg from 'pg';

const UPDATE = `UPDATE settings SET value = $2::jsonb, modified_at = now()
  WHERE customer_id = (SELECT id FROM customers WHERE uuid = $1) AND name = 'concurrency-limit'
  RETURNING value`;
// BARE_WRITE=function: the one statement the service itself sends for this write (the database
// function that locks the customer, writes the setting, records the event, and whose rows' triggers
// NOTIFY at commit), served the same bare way: what the database's share of a service write costs.
const FUNCTION = `SELECT gateway_write_set_setting((SELECT id FROM customers WHERE uuid = $1), 'concurrency-limit', $2::jsonb,
  '{"keyId": null, "kind": "system", "requestId": null}'::jsonb)->'setting'->'value' AS value`;
const STATEMENT = process.env.BARE_WRITE === 'function' ? FUNCTION : UPDATE;
const PATH = /^\/customers\/([0-9a-f-]{36})\/concurrency-limit$/;

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_SIZE ?? 10) });
pool.on('error', () => {});
let statements = 0;
function query<Row extends pg.QueryResultRow>(text: string, values: unknown[] = []) {
  statements++;
  return pool.query<Row>(text, values);
}

function reply(res: import('node:http').ServerResponse, status: number, body: string, type = 'application/json; charset=utf-8') {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/metrics') {
    return reply(res, 200, `# TYPE db_statements_total counter\ndb_statements_total ${statements}\n`, 'text/plain; version=0.0.4');
  }
  if (req.method === 'GET' && req.url === '/ready') {
    query('SELECT 1').then(
      () => reply(res, 200, '{"status":true}'),
      () => reply(res, 503, '{"status":false}'),
    );
    return;
  }
  const match = req.method === 'PUT' ? PATH.exec(req.url ?? '') : null;
  if (!match) return reply(res, 404, '{"error":"NOT_FOUND"}');
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => (body += chunk));
  req.on('end', async () => {
    let limit: unknown;
    try {
      limit = (JSON.parse(body) as { limit?: unknown }).limit;
    } catch {}
    if (!Number.isInteger(limit)) return reply(res, 400, '{"error":"BAD_REQUEST"}');
    try {
      const { rows } = await query<{ value: unknown }>(STATEMENT, [match[1], JSON.stringify(limit)]);
      if (!rows.length || rows[0]!.value === null) return reply(res, 404, '{"error":"NOT_FOUND"}');
      reply(res, 200, JSON.stringify({ limit: rows[0]!.value }));
    } catch (error) {
      reply(res, 500, JSON.stringify({ error: String(error) }));
    }
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close(() => void pool.end().finally(() => process.exit(0)));
  server.closeAllConnections();
});
