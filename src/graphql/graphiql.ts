import type { GraphiQLOptions } from 'graphql-yoga';

const DEFAULT_DOCUMENT = `# Customer API gateway: GraphiQL
#
# Every operation but introspection needs an API key. Put yours in the
# Headers pane below, in place of XI...:
#
#   {"Authorization": "Bearer XI..."}
#
# Docs and autocompletion work before a key is entered. Ctrl-Enter runs
# the operation; Ctrl-Space completes.

query Me {
  me {
    name
    uuid
    settings {
      concurrencyLimit
    }
  }
}
`;

/** What GraphiQL opens with: the document above, and the Headers pane open with the key's template. */
export const graphiqlOptions: GraphiQLOptions = {
  title: 'Customer API gateway',
  defaultQuery: DEFAULT_DOCUMENT,
  headers: JSON.stringify({ Authorization: 'Bearer XI...' }, null, 2),
  defaultEditorToolsVisibility: 'headers',
  // A key typed into the Headers pane stays out of the browser's storage.
  shouldPersistHeaders: false,
};

let page: Promise<string> | undefined;

/**
 * Yoga's bundled GraphiQL (@graphql-yoga/render-graphiql): its code, styles, editor workers and
 * favicon are inline in the page, so it works offline and loads nothing from another host. The page
 * is the same for every request, so it is rendered once. The module (9 MB of inlined code) is
 * loaded when the page is first asked for, not at start: a service no browser visits does not hold
 * it in memory.
 */
export function renderOfflineGraphiQL(options: GraphiQLOptions): Promise<string> {
  return (page ??= import('@graphql-yoga/render-graphiql').then(({ renderGraphiQL }) => renderGraphiQL(options)));
}
