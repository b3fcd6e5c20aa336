import { z } from 'zod';
import type { GraphQLEnum, Resource } from '../resources/define.js';
import { builder } from './builder.js';

/**
 * The GraphQL side of the one description per resource (src/resources): object fields from a
 * resource's field list, and input fields from the services' own zod input schemas, so the names,
 * types, nullability and descriptions are those the REST document shows.
 */

// Pothos' field builders are typed per object; these helpers only pass the options through.
type FieldBuilder = { field(options: object): unknown };
type InputFieldBuilder = { field(options: object): unknown };

const enums = new Map<string, unknown>();

/** A resource's enum as a GraphQL enum type, made once however many fields use it. */
function enumRef(definition: GraphQLEnum): unknown {
  let ref = enums.get(definition.name);
  if (!ref) {
    ref = builder.enumType(definition.name, { description: definition.description, values: definition.values });
    enums.set(definition.name, ref);
  }
  return ref;
}

/** The Pothos fields of a resource's GraphQL-visible fields. */
export function resourceFields<S>(t: FieldBuilder, resource: Resource<S>): Record<string, never> {
  return Object.fromEntries(
    resource.graphqlFields().map(([name, field]) => [
      name,
      t.field({
        type: field.enum ? enumRef(field.enum) : field.type,
        nullable: field.nullable,
        description: field.description,
        resolve: field.resolve,
      }),
    ]),
  ) as Record<string, never>;
}

/**
 * The input fields of a zod object as GraphQL input fields. Read-only markers (`z.never()`) are
 * left out: a GraphQL input simply has no such field.
 */
export function zodInputFields(t: InputFieldBuilder, schema: z.ZodObject): Record<string, never> {
  return zodFields((options) => t.field(options), schema);
}

/** The members of a zod object as a field's GraphQL arguments, as zodInputFields makes input fields. */
export function zodArgs(t: { arg(options: object): unknown }, schema: z.ZodObject): Record<string, never> {
  return zodFields((options) => t.arg(options), schema);
}

function zodFields(make: (options: object) => unknown, schema: z.ZodObject): Record<string, never> {
  const fields: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema.shape) as [string, z.ZodType][]) {
    const { inner, optional, description } = unwrap(field);
    const type = graphqlType(inner);
    if (!type) continue;
    fields[name] = make({ type, required: !optional, ...(description && { description }) });
  }
  return fields as Record<string, never>;
}

function unwrap(schema: z.ZodType): { inner: z.ZodType; optional: boolean; description?: string } {
  let inner = schema;
  let optional = false;
  let description = z.globalRegistry.get(inner)?.description;
  for (;;) {
    if (inner instanceof z.ZodOptional || inner instanceof z.ZodNullable || inner instanceof z.ZodDefault) {
      optional ||= !(inner instanceof z.ZodNullable);
      inner = inner.unwrap() as z.ZodType;
      description ??= z.globalRegistry.get(inner)?.description;
    } else return { inner, optional, description };
  }
}

function graphqlType(schema: z.ZodType): string | undefined {
  switch (schema.type) {
    case 'string':
      return 'String';
    case 'boolean':
      return 'Boolean';
    case 'number':
      return (schema as z.ZodNumber).format === 'safeint' || (schema as z.ZodNumber).isInt ? 'Int' : 'Float';
    case 'record':
    case 'object':
      return 'JSONObject';
    case 'never':
      return undefined;
    default:
      throw new Error(`No GraphQL input type for a zod ${schema.type}`);
  }
}
