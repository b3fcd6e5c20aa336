import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Node resolves `graphql` to its CommonJS entry for the libraries; make the test transform pick
    // the same file, or the schema's types come from two copies of graphql.
    alias: [{ find: /^graphql$/, replacement: fileURLToPath(new URL('./node_modules/graphql/index.js', import.meta.url)) }],
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each test file gets its own database; two at a time suits a 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
    // Tiers that run alone (`npx vitest run --project unit`): `unit` checks what is pure, with no
    // database, no network and no process (seconds); `app` runs the service on a real database
    // (embedded, or TEST_DATABASE_URL's), over HTTP and in spawned processes.
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'app', include: ['test/**/*.test.ts'], exclude: ['test/unit/**'] } },
    ],
  },
});
