// Prisma CLI configuration. The service itself never reads this file: it builds its client on
// @prisma/adapter-pg (src/db) and applies migrations with src/db/migrate.ts.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'prisma/config';

// `prisma generate` runs no schema engine, but the CLI insists on locating (or downloading) one
// first. Where no native engine can be downloaded, a placeholder lets generation go ahead;
// migrations are made and applied through the WebAssembly engine instead (scripts/migrate-new.ts).
if (process.argv.includes('generate')) {
  process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= fileURLToPath(new URL('./prisma/schema-engine-placeholder', import.meta.url));
}

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
