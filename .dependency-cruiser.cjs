/**
 * Which module may import which (`npm run lint:deps`, run by .ci/run before the tests). src/ is built
 * in floors, each importing only its own floor and those below it (docs/architecture.md):
 *
 *   main.ts, cli.ts                  entry points: nothing imports them
 *   boot/                            process wiring: config, logger, services, app, serve, cluster
 *   rest/   graphql/                 the two API doors, apart from each other
 *   http/                            the front door both API doors stand on
 *   resources/                       how each resource is shown
 *   domain/                          customers, keys, events, loaders, caches, rate limits
 *   db/                              the database
 *   kernel/                          coded errors, secrets, JSON checks, merge patch, LRU, tracing hooks
 *
 * The rules hold for every import, type-only ones included; there are no import cycles.
 * @type {import('dependency-cruiser').IConfiguration}
 */

/** Each floor and the floors it may import (its own included). */
const floors = {
  kernel: ['kernel'],
  db: ['kernel', 'db'],
  domain: ['kernel', 'db', 'domain'],
  resources: ['kernel', 'db', 'domain', 'resources'],
  http: ['kernel', 'db', 'domain', 'resources', 'http'],
  rest: ['kernel', 'db', 'domain', 'resources', 'http', 'rest'],
  graphql: ['kernel', 'db', 'domain', 'resources', 'http', 'graphql'],
  boot: ['kernel', 'db', 'domain', 'resources', 'http', 'rest', 'graphql', 'boot'],
};

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'An import cycle of values makes the order of module initialisation a puzzle; none exists (a cycle of type-only imports is erased by the compiler).',
      severity: 'error',
      from: { pathNot: '^src/generated/' },
      to: { circular: true, pathNot: '^src/generated/', viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    ...Object.entries(floors).map(([floor, allowed]) => ({
      name: `${floor}-imports-down`,
      comment: `src/${floor} imports only ${allowed.map((f) => `src/${f}`).join(', ')} (and packages and generated code).`,
      severity: 'error',
      from: { path: `^src/${floor}/` },
      to: { path: '^src/', pathNot: [`^src/(${allowed.join('|')})/`, '^src/generated/'] },
    })),
    {
      name: 'doors-apart',
      comment: 'REST and GraphQL are two doors onto one service layer: neither imports the other.',
      severity: 'error',
      from: { path: '^src/(rest|graphql)/' },
      to: { path: '^src/(rest|graphql)/', pathNot: '^src/$1/' },
    },
    {
      name: 'entry-points-last',
      comment: 'main.ts and cli.ts start processes; nothing imports them.',
      severity: 'error',
      from: {},
      to: { path: '^src/(main|cli)\\.ts$' },
    },
    // Every module sits in a floor's folder; only the entry points stand at the root of src/. A module
    // out of place is caught whether it imports something, is imported, or neither (an orphan).
    ...[
      ['no-loose-files', 'only main.ts and cli.ts stand at the root of src/', '^src/[^/]+$', '^src/(main|cli)\\.ts$'],
      ['no-unknown-folders', 'a folder of src/ is one of the floors', '^src/[^/]+/', `^src/(${[...Object.keys(floors), 'generated'].join('|')})/`],
    ].flatMap(([name, comment, path, pathNot]) => [
      { name, comment, severity: 'error', from: { path, pathNot }, to: {} },
      { name, comment, severity: 'error', from: {}, to: { path, pathNot } },
      { name, comment, severity: 'error', from: { orphan: true, path, pathNot }, to: {} },
    ]),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/generated/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
