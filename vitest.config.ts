import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** The tests that start service or CLI processes (bundles built once, test/global-setup.ts). */
const processTier = [
  'test/cli.test.ts',
  'test/data-dir-guard.test.ts',
  'test/exact-resume.test.ts',
  'test/partitions.test.ts',
  'test/rate-limit-shared.test.ts',
  'test/replicas.test.ts',
  'test/shutdown.test.ts',
  'test/start.test.ts',
  'test/workers.test.ts',
];

/**
 * The process tier's files first: each is long and mostly waits on its child processes, so started
 * first they run beside the many short files instead of alone at the end of the run.
 */
class ProcessTierFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const first = (spec: TestSpecification) => (spec.project.name === 'process' ? 0 : 1);
    return sorted.sort((a, b) => first(a) - first(b));
  }
}

export default defineConfig({
  resolve: {
    // Node resolves `graphql` to its CommonJS entry for the libraries; make the test transform pick
    // the same file, or the schema's types come from two copies of graphql.
    alias: [{ find: /^graphql$/, replacement: fileURLToPath(new URL('./node_modules/graphql/index.js', import.meta.url)) }],
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each test file gets its own database; two at a time suits a 2-core machine. Worker threads
    // start and run the embedded database in less CPU than child processes (93 s against 98 s for
    // the whole suite, measured on this machine).
    pool: 'threads',
    maxWorkers: 2,
    sequence: { sequencer: ProcessTierFirst },
    // Tiers that run alone (`npx vitest run --project unit`):
    // - `unit`: what is pure, with no database, no network and no process (seconds);
    // - `schema`: operations executed against the GraphQL schema with loaders over fixtures (no I/O);
    // - `app`: the service in-process on a real database (embedded, or TEST_DATABASE_URL's), over HTTP;
    // - `process`: the bundled service and CLI as processes: start, shutdown, workers, replicas,
    //   partitions, the data folder's guard, the CLI.
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'schema', include: ['test/schema/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'app', isolate: false, include: ['test/*.test.ts'], exclude: processTier, globalSetup: ['test/global-setup.ts'] },
      },
      { extends: true, test: { name: 'process', isolate: false, include: processTier, globalSetup: ['test/global-setup.ts'] } },
    ],
  },
});
