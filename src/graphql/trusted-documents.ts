import { readFileSync } from 'node:fs';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import type { GraphQLParams, Plugin } from 'graphql-yoga';

/**
 * The trusted documents file (TRUSTED_DOCUMENTS): a JSON object of id → document, as
 * graphql-codegen's client preset writes persisted-documents.json. A file that cannot be read or
 * has another shape stops the start with a message naming the variable.
 */
export function loadTrustedDocuments(file: string): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`TRUSTED_DOCUMENTS: cannot read ${file} as JSON (${(error as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`TRUSTED_DOCUMENTS: ${file} must hold a JSON object of id → GraphQL document`);
  }
  const documents = new Map<string, string>();
  for (const [id, document] of Object.entries(parsed)) {
    if (typeof document !== 'string' || !document.trim()) {
      throw new Error(`TRUSTED_DOCUMENTS: the entry ${JSON.stringify(id)} in ${file} is not a GraphQL document`);
    }
    documents.set(id, document);
  }
  return documents;
}

const refusal = (message: string) => ({ message, extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });

/**
 * Runs only the trusted documents, named by `documentId` (GraphQL over HTTP's persisted documents)
 * or by `extensions.persistedQuery.sha256Hash` (Apollo's form); a query text, or an id that is not
 * in the file, is a 400 BAD_REQUEST saying so. An id may carry a `sha256:` prefix or not.
 */
export function useTrustedDocuments(documents: Map<string, string>): Plugin {
  return usePersistedOperations({
    allowArbitraryOperations: false,
    extractPersistedOperationId: (params: GraphQLParams & { documentId?: unknown }) => {
      if (typeof params.documentId === 'string') return params.documentId;
      const persisted = (params.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined)?.persistedQuery;
      return typeof persisted?.sha256Hash === 'string' ? persisted.sha256Hash : null;
    },
    getPersistedOperation: (id: string) =>
      documents.get(id) ?? documents.get(id.replace(/^sha256:/, '')) ?? documents.get(`sha256:${id}`) ?? null,
    customErrors: {
      persistedQueryOnly: refusal(
        'Only trusted documents run on this service: send the document id as "documentId" (or extensions.persistedQuery.sha256Hash) instead of the query text',
      ),
      keyNotFound: refusal('A trusted document id is required: "documentId" (or extensions.persistedQuery.sha256Hash)'),
      notFound: refusal('No trusted document has this id; the documents this service runs are fixed at its start'),
    },
  }) as Plugin;
}
