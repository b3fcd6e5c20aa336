import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers.js';

/**
 * The service as an Apollo Federation 2 subgraph (/subgraph), composed by a real gateway from npm
 * (@apollo/gateway, composing from the subgraphs' `_service { sdl }`) with a second subgraph written
 * here: domains, each belonging to a customer named by uuid. The gateway forwards the caller's
 * Authorization; the service authorizes the entity lookups as it authorizes `customer(id:)`.
 */
let t: TestApp;
let acme: Awaited<ReturnType<TestApp['customer']>>;
let globex: Awaited<ReturnType<TestApp['customer']>>;
const servers: Server[] = [];
let gateway: ApolloServer<{ authorization?: string }>;
let gatewayUrl: string;

const listen = async (server: Server) => {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

/** The other service: domains that reference Customer by uuid, and know nothing else of it. */
function domainsSubgraph(domains: { name: string; customer: string }[]) {
  const typeDefs = parse(`
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@key"])
    scalar UUID
    type Customer @key(fields: "uuid", resolvable: false) { uuid: UUID! }
    type Domain @key(fields: "name") { name: String! customer: Customer }
    type Query { domains: [Domain!]! }
  `);
  const resolvers = {
    Query: { domains: () => domains },
    Domain: { customer: (d: { customer: string }) => ({ __typename: 'Customer', uuid: d.customer }) },
  };
  return createYoga({ schema: buildSubgraphSchema([{ typeDefs, resolvers: resolvers as never }]), logging: false });
}

async function viaGateway(key: string | undefined, query: string) {
  const res = await fetch(gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key && { authorization: `Bearer ${key}` }) },
    body: JSON.stringify({ query }),
  });
  return (await res.json()) as { data?: any; errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } }[] };
}

beforeAll(async () => {
  t = await createTestApp();
  acme = await t.customer('Acme');
  globex = await t.customer('Globex');
  expect((await t.http('PUT', '/customers/Acme/concurrency-limit', { key: t.systemKey, body: { limit: 12 } })).status).toBe(200);
  const customersUrl = `${await listen(createServer(t.app))}/subgraph`;
  const domainsUrl = await listen(
    createServer(
      domainsSubgraph([
        { name: 'acme.example', customer: acme.uuid },
        { name: 'globex.example', customer: globex.uuid },
      ]),
    ),
  );
  const apollo = new ApolloGateway({
    supergraphSdl: new IntrospectAndCompose({
      subgraphs: [
        { name: 'customers', url: customersUrl },
        { name: 'domains', url: `${domainsUrl}/graphql` },
      ],
      // `_service` needs a key like every operation.
      introspectionHeaders: { authorization: `Bearer ${t.systemKey}` },
    }),
    buildService: ({ url }) =>
      new RemoteGraphQLDataSource<{ authorization?: string }>({
        url,
        // The caller's key goes on to every subgraph.
        willSendRequest({ request, context }) {
          if (context.authorization) request.http!.headers.set('authorization', context.authorization);
        },
      }),
  });
  gateway = new ApolloServer({ gateway: apollo });
  ({ url: gatewayUrl } = await startStandaloneServer(gateway, {
    listen: { port: 0, host: '127.0.0.1' },
    context: async ({ req }) => ({ authorization: req.headers.authorization }),
  }));
}, 60_000);

afterAll(async () => {
  await gateway?.stop().catch(() => {});
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  await t?.close();
});

const DOMAINS = '{ domains { name customer { uuid name concurrencyLimit { limit } } } }';

describe('through a federation gateway', () => {
  it("answers a domain with its customer's name and concurrency limit, fetched from this service", async () => {
    const res = await viaGateway(t.systemKey, DOMAINS);
    expect(res.errors).toBeUndefined();
    expect(res.data.domains).toEqual([
      { name: 'acme.example', customer: { uuid: acme.uuid, name: 'Acme', concurrencyLimit: { limit: 12 } } },
      { name: 'globex.example', customer: { uuid: globex.uuid, name: 'Globex', concurrencyLimit: null } },
    ]);
  });

  it("with a customer's key: its own customer comes back, another's is null with FORBIDDEN, never its data", async () => {
    // Twice and more: the second answer comes from the read cache (frozen rows), and repeated
    // documents are where graphql-jit would step in on /graphql.
    for (let i = 0; i < 12; i++) {
      const res = await viaGateway(acme.key, DOMAINS);
      expect(res.data.domains[0]).toEqual({ name: 'acme.example', customer: { uuid: acme.uuid, name: 'Acme', concurrencyLimit: { limit: 12 } } });
      expect(res.data.domains[1]).toEqual({ name: 'globex.example', customer: null });
      expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
      expect(JSON.stringify(res)).not.toContain('Globex');
    }
  });

  it('without a key the customer part is refused (UNAUTHENTICATED)', async () => {
    const res = await viaGateway(undefined, DOMAINS);
    expect(JSON.stringify(res.data ?? {})).not.toContain('Acme');
    expect(res.errors?.some((e) => e.extensions?.code === 'UNAUTHENTICATED')).toBe(true);
  });

  it('still serves the service\'s own fields through the gateway', async () => {
    const res = await viaGateway(acme.key, '{ me { name settings { concurrencyLimit } } }');
    expect(res).toEqual({ data: { me: { name: 'Acme', settings: { concurrencyLimit: 12 } } } });
  });
});

describe('/subgraph, called directly', () => {
  const post = (key: string | undefined, query: string, variables?: object) =>
    t.http('POST', '/subgraph', { key, body: { query, variables } }).then(async (r) => ({ status: r.status, ...((await r.json()) as any) }));

  it('answers `_service { sdl }` with subgraph.graphql, to a key only', async () => {
    const res = await post(t.systemKey, '{ _service { sdl } }');
    expect(`${res.data._service.sdl}\n`).toBe(readFileSync(new URL('../subgraph.graphql', import.meta.url), 'utf8'));
    expect((await post(undefined, '{ _service { sdl } }')).status).toBe(401);
  });

  it('resolves `_entities` by uuid and by id under the usual authorization', async () => {
    const query = 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { uuid name } } }';
    const representations = [
      { __typename: 'Customer', uuid: acme.uuid },
      { __typename: 'Customer', id: acme.id },
      { __typename: 'Customer', uuid: globex.uuid },
    ];
    const own = await post(acme.key, query, { r: representations });
    expect(own.data._entities).toEqual([{ uuid: acme.uuid, name: 'Acme' }, { uuid: acme.uuid, name: 'Acme' }, null]);
    expect(own.errors.map((e: any) => [e.path, e.extensions.code])).toEqual([[['_entities', 2], 'FORBIDDEN']]);
    const system = await post(t.systemKey, query, { r: representations });
    expect(system.data._entities.map((c: any) => c?.name)).toEqual(['Acme', 'Acme', 'Globex']);
  });

  it('leaves /graphql without federation fields', async () => {
    const res = await t.gql(t.systemKey, '{ _service { sdl } }');
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.message).toMatch(/_service/);
  });
});
