import { readFileSync } from 'node:fs';
import { openDatabase, unboundedQuery } from '../src/db/database.js';
import { createServices } from '../src/boot/services.js';
import { createApp } from '../src/boot/app.js';
import { createLogger } from '../src/boot/logger.js';
import { insertKey } from '../src/domain/auth/api-keys.js';
const image = new Blob([readFileSync('dist/test/embedded-image.tar')]);
const database = await openDatabase({ image });
const services = createServices(database, { authCacheTtlMs: 0, activityFlushMs: 60000 });
const app = createApp(services, createLogger('silent'), { CORS_ORIGINS: [], GRAPHQL_INTROSPECTION: true, METRICS: true });
const key = (await insertKey(database.prisma, { name: 's', type: 'system' })).secret;
let t = performance.now();
await unboundedQuery(database.pool, `INSERT INTO customers (uuid, name, profile)
  SELECT gen_random_uuid(), 'bulk customer ' || n, jsonb_build_object('contact-name', 'Contact ' || n, 'contact-email', 'c' || n || '@example.com')
  FROM generate_series(1, 20000) AS n`);
await unboundedQuery(database.pool, 'ANALYZE');
console.log('insert', (performance.now() - t).toFixed(0));
for (let i = 0; i < 3; i++) {
  t = performance.now();
  const res = await app.fetch('http://x/tenants', { headers: { authorization: `Bearer ${key}` } });
  let bytes = 0;
  for await (const chunk of res.body as any) bytes += chunk.byteLength;
  console.log('stream', (performance.now() - t).toFixed(0), bytes);
}
t = performance.now();
for (let i = 0; i < 2000; i++) await app.fetch('http://x/tenants/self', { headers: { authorization: `Bearer ${key}` } }).then(r => r.text());
console.log('2000 reads', (performance.now() - t).toFixed(0));
await services.activity.stop(); await database.close();
