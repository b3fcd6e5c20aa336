import type { Plugin } from 'graphql-yoga';
import type { AppOptions } from '../app.js';
import type { Services } from '../context.js';
import { requestInfo } from '../request-info.js';

/**
 * The REST routes served beside GraphQL. For now: liveness and readiness.
 */
export function useRestRouter(services: Services, _options: AppOptions): Plugin {
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (request.method !== 'GET') return;
      if (url.pathname === '/health') {
        requestInfo(request).route = '/health';
        endResponse(fetchAPI.Response.json({ status: true }));
      } else if (url.pathname === '/ready') {
        requestInfo(request).route = '/ready';
        const ok = await services.ping().then(() => true, () => false);
        endResponse(
          ok
            ? fetchAPI.Response.json({ status: true })
            : fetchAPI.Response.json({ status: false, code: 'UNAVAILABLE', message: 'The database is not answering' }, { status: 503 }),
        );
      }
    },
  };
}
