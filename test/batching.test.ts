import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

/** SQL statements a GraphQL request costs, transaction bookkeeping aside. */
async function statementsFor(key: string, query: string) {
  t.queries.length = 0;
  const res = await t.gql(key, query);
  expect(res.errors).toBeUndefined();
  return { res, statements: t.queries.filter((q) => !/^(BEGIN|COMMIT|ROLLBACK)/i.test(q)) };
}

describe('batching', () => {
  it('costs the same number of statements for 2 and for 40 aliased customers with settings', async () => {
    const customers: Awaited<ReturnType<TestApp["customer"]>>[] = [];
    for (let i = 0; i < 40; i++) customers.push(await t.customer(`batch-${i}`));
    for (const c of customers.slice(0, 30)) {
      await t.gql(t.systemKey, `mutation { setConcurrencyLimit(customer: "${c.uuid}", limit: ${c.id}) { id } }`);
    }
    const fields = 'name settings { concurrencyLimit values } concurrencyLimit { limit } apiKeys { keyId }';
    // Mixed identifiers: uuid, id and name.
    const ident = (c: (typeof customers)[number], i: number) => [c.uuid, String(c.id), c.name][i % 3];
    const query = (n: number) =>
      `{ ${customers.slice(0, n).map((c, i) => `c${i}: customer(id: "${ident(c, i)}") { ${fields} }`).join(' ')} }`;

    const small = await statementsFor(t.systemKey, query(2));
    const large = await statementsFor(t.systemKey, query(40));
    expect(large.statements.length).toBe(small.statements.length);
    // Customers, settings and keys: one statement each (authentication is the fourth).
    expect(large.statements.length).toBeLessThanOrEqual(4);
    expect(large.res.data.c5.concurrencyLimit).toEqual({ limit: customers[5]!.id });
    expect(large.res.data.c35.concurrencyLimit).toBeNull();
    expect(large.res.data.c35.settings.values).toEqual({});
  });

  it('pages 30 customers with their settings in a constant number of statements', async () => {
    const a = await statementsFor(t.systemKey, '{ customers(first: 3) { edges { node { settings { values } } } } }');
    const b = await statementsFor(t.systemKey, '{ customers(first: 30) { edges { node { settings { values } } } } }');
    expect(b.statements.length).toBe(a.statements.length);
  });
});
