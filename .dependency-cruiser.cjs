/**
 * Which module may import which (`npm run lint:deps`, run by .ci/run before the tests): the doors
 * (src/http, src/rest, src/graphql) stand on the services and never the other way round, the two
 * API doors do not import each other, and there are no import cycles.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'An import cycle of values makes the order of module initialisation a puzzle; none exists (a cycle of type-only imports is erased by the compiler).',
      severity: 'error',
      from: { pathNot: '^src/generated/' },
      to: { circular: true, pathNot: '^src/generated/', viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'services-below-doors',
      comment: 'Customers, keys, events, resources and the database know nothing of HTTP, REST, GraphQL or the process wiring (app, services, serve, cluster, the entry points).',
      severity: 'error',
      from: { path: '^src/(db|auth|customers|events|resources)/' },
      to: { path: ['^src/(http|rest|graphql)/', '^src/(app|services|serve|cluster|main|cli)\\.ts$'] },
    },
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
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/generated/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
