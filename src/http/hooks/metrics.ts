import type { Metrics } from '../metrics.js';
import type { FrontDoorHook } from '../pipeline.js';

/** Each answer counted and timed in the request metrics (`http_requests_total`, `http_request_duration_seconds`) by method, route template and status. */
export function metricsHook(metrics: Metrics): FrontDoorHook {
  return {
    name: 'metrics',
    onResponse(request, response, ms) {
      metrics.observe(request.method, request.info.route ?? 'unmatched', response.status, ms / 1000);
    },
  };
}
