import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { createPipeline, type FrontDoorHook } from './pipeline.js';
import { fromFetch, fromNode, type HttpRequest, type RequestInfo } from './request.js';
import { toFetchResponse, writeNode, type HttpResponse } from './response.js';

export type Door = (request: HttpRequest) => Promise<HttpResponse>;
export type { FrontDoorHook } from './pipeline.js';

/** Yoga serves GraphQL here, and the federation subgraph at /subgraph; every other path is the REST door's. */
const GRAPHQL_PATHS = new Set(['/graphql', '/graphql/']);
const SUBGRAPH_PATHS = new Set(['/subgraph', '/subgraph/']);

/**
 * The one front door of both doors, on node:http: it sends GraphQL paths to the GraphQL door and
 * everything else to the REST door, through its hooks (pipeline.ts: `around → onRequest → handler →
 * onSend → onResponse`; the list itself is boot/app.ts's). The doors read bodies through
 * http/body.ts and answer errors in their own shapes; a failure of theirs to answer at all becomes
 * the error envelope here.
 */
export function createFrontDoor(parts: { graphql: Door; subgraph: Door; rest: Door; logger: Logger; hooks: readonly FrontDoorHook[] }) {
  const { graphql, subgraph, rest } = parts;
  const route: Door = (request) => {
    const path = request.url.pathname;
    return (GRAPHQL_PATHS.has(path) ? graphql : SUBGRAPH_PATHS.has(path) ? subgraph : rest)(request);
  };
  const handle = createPipeline(parts.hooks, route, parts.logger);

  // The request id is the request-id hook's to give; the time the request came in is taken first.
  const newInfo = (): RequestInfo => ({ requestId: '', callerId: false, start: performance.now() });

  function app(req: IncomingMessage, res: ServerResponse): void {
    const request = fromNode(req, res, newInfo());
    void handle(request).then((response) => writeNode(req, res, response));
  }
  app.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const fetchRequest = input instanceof Request && !init ? input : new Request(input, init);
    const request = fromFetch(fetchRequest, newInfo());
    return toFetchResponse(request.method, await handle(request));
  };
  return app;
}
