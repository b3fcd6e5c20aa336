import { z } from 'zod';
import { jsonValue } from '../kernel/json.js';

/**
 * One description per resource. A resource lists its fields once, in the order the platform
 * renders them, each with its kind, its documentation and how it is read from the stored row; the
 * REST renderings of both dialects, their zod (and so OpenAPI) schemas, and the GraphQL fields are
 * all derived from that list, so they cannot drift apart.
 */

/** The REST path families: the platform's `/customers` API and its older `/tenants` API. */
export type Dialect = 'customers' | 'tenants';
export const DIALECTS: readonly Dialect[] = ['customers', 'tenants'];

/** `2020-03-29T10:26:51Z`: seconds precision, UTC, as the platform renders its timestamps. */
export function timestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

const timestampJson = () => z.iso.datetime({ precision: 0 }).meta({ examples: ['2020-03-29T10:26:51Z'] });
const jsonObjectJson = () => z.record(z.string(), jsonValue);

/** What a field holds: its REST schema, how REST renders it, and the GraphQL scalar that carries it. */
const KINDS = {
  int: { json: () => z.int(), graphql: 'Int', render: (v: unknown) => v },
  /** A 64-bit sequence number: a JSON number in REST, an ID (a string) in GraphQL, whose Int is 32-bit. */
  serial: { json: () => z.int().min(1), graphql: 'ID', render: (v: unknown) => v },
  string: { json: () => z.string(), graphql: 'String', render: (v: unknown) => v },
  boolean: { json: () => z.boolean(), graphql: 'Boolean', render: (v: unknown) => v },
  uuid: { json: () => z.uuid(), graphql: 'UUID', render: (v: unknown) => v },
  timestamp: { json: timestampJson, graphql: 'DateTime', render: (v: unknown) => timestamp(v as Date) },
  json: { json: () => jsonValue, graphql: 'JSON', render: (v: unknown) => v },
  jsonObject: { json: jsonObjectJson, graphql: 'JSONObject', render: (v: unknown) => v },
} as const;

/**
 * A closed set of strings: a JSON string enum in REST, and a GraphQL enum type of its own, each
 * value described. GraphQL enum values must be names, so a value there is the REST value with every
 * other character (the `.` of `customer.created`) written `_`: `customer_created`; resolvers still
 * see the REST value.
 */
export interface EnumKind {
  /** The GraphQL enum type's name. */
  name: string;
  description: string;
  /** Each value (as REST sends it) and what it means, in order. */
  enum: Readonly<Record<string, string>>;
}

export type Kind = keyof typeof KINDS | EnumKind;

/** A REST enum value as a GraphQL enum value name. */
const graphqlEnumValue = (value: string) => value.replace(/[^_0-9A-Za-z]/g, '_');

/** The GraphQL side of an enum field: its type's name, description and values. */
export interface GraphQLEnum {
  name: string;
  description: string;
  /** GraphQL name → the REST value it stands for, and its description. */
  values: Record<string, { value: string; description: string }>;
}

function graphqlEnum(kind: EnumKind): GraphQLEnum {
  const values: GraphQLEnum['values'] = {};
  for (const [value, description] of Object.entries(kind.enum)) {
    const name = graphqlEnumValue(value);
    if (values[name]) throw new Error(`${kind.name}: "${value}" and "${values[name].value}" are the same GraphQL enum value`);
    values[name] = { value, description };
  }
  return { name: kind.name, description: kind.description, values };
}

export interface Field<S> {
  kind: Kind;
  nullable?: boolean;
  description?: string;
  examples?: unknown[];
  /** The field's value from the source (the stored row, or what the door passes). */
  get(source: S): unknown;
  /** Where the field appears; everywhere unless said otherwise. */
  in?: { graphql?: boolean; customers?: boolean; tenants?: boolean };
}

export interface Resource<S> {
  name: string;
  description: string;
  fields: Record<string, Field<S>>;
  /** The REST JSON of this resource in a dialect, as a zod schema (registered by rest/schemas.ts). */
  json(dialect: Dialect): z.ZodObject;
  /** The REST JSON of a source in a dialect, fields in the resource's order. */
  render(source: S, dialect: Dialect): Record<string, unknown>;
  /** The fields GraphQL shows: name → how to build the Pothos field. */
  graphqlFields(): [string, { type: string; enum?: GraphQLEnum; nullable: boolean; description?: string; resolve: (source: S) => unknown }][];
}

const shows = (field: Field<unknown>, where: Dialect | 'graphql') => field.in?.[where] ?? true;

function jsonSchemaOf(field: Field<unknown>): z.ZodType {
  let schema: z.ZodType =
    typeof field.kind === 'object' ? z.enum(Object.keys(field.kind.enum) as [string, ...string[]]) : KINDS[field.kind].json();
  if (field.nullable) schema = schema.nullable();
  const meta = { ...(field.description && { description: field.description }), ...(field.examples && { examples: field.examples }) };
  return Object.keys(meta).length ? schema.meta(meta) : schema;
}

export function defineResource<S>(name: string, spec: { description: string; fields: Record<string, Field<S>> }): Resource<S> {
  const entries = Object.entries(spec.fields);
  const schemas = new Map<Dialect, z.ZodObject>();
  const renderers = new Map<Dialect, [string, (source: S) => unknown][]>();
  for (const dialect of DIALECTS) {
    const fields = entries.filter(([, f]) => shows(f as Field<unknown>, dialect));
    schemas.set(
      dialect,
      z.object(Object.fromEntries(fields.map(([key, f]) => [key, jsonSchemaOf(f as Field<unknown>)]))).meta({ description: spec.description }),
    );
    renderers.set(
      dialect,
      fields.map(([key, f]) => {
        const render = typeof f.kind === 'object' ? (v: unknown) => v : KINDS[f.kind].render;
        return [key, (source: S) => {
          const value = f.get(source);
          return value === null || value === undefined ? null : render(value);
        }];
      }),
    );
  }
  return {
    name,
    description: spec.description,
    fields: spec.fields,
    json: (dialect) => schemas.get(dialect)!,
    render(source, dialect) {
      const out: Record<string, unknown> = {};
      for (const [key, read] of renderers.get(dialect)!) out[key] = read(source);
      return out;
    },
    graphqlFields: () =>
      entries
        .filter(([, f]) => shows(f as Field<unknown>, 'graphql'))
        .map(([key, f]) => [
          key,
          {
            type: typeof f.kind === 'object' ? f.kind.name : KINDS[f.kind].graphql,
            ...(typeof f.kind === 'object' && { enum: graphqlEnum(f.kind) }),
            nullable: f.nullable ?? false,
            description: f.description,
            resolve: (source: S) => f.get(source) ?? null,
          },
        ]),
  };
}
