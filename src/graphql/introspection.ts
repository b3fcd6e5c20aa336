import { Kind, parse, type OperationDefinitionNode } from 'graphql';

const INTROSPECTION_FIELDS = new Set(['__schema', '__type', '__typename']);

/**
 * Whether the operation a request runs is a query that selects nothing but introspection at its
 * root (`__schema`, `__type`, `__typename`): what GraphiQL and codegen send to learn the schema.
 * Such a query reaches no resolver of the service, so it may run without a key while introspection
 * is on. A fragment spread or inline fragment at the root, a document that does not parse, or an
 * operation that cannot be told apart, is not.
 */
export function isIntrospectionOnly(query: unknown, operationName: unknown): boolean {
  if (typeof query !== 'string' || !/__(schema|type)\b/.test(query)) return false;
  let operations: OperationDefinitionNode[];
  try {
    operations = parse(query).definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  } catch {
    return false;
  }
  const operation =
    typeof operationName === 'string' && operationName
      ? operations.find((o) => o.name?.value === operationName)
      : operations.length === 1
        ? operations[0]
        : undefined;
  if (!operation || operation.operation !== 'query') return false;
  return operation.selectionSet.selections.every(
    (s) => s.kind === Kind.FIELD && INTROSPECTION_FIELDS.has(s.name.value) && !s.directives?.length,
  );
}
