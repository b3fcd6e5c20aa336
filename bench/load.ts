// The load generator, run as its own process so it does not share an event loop with the server.
// Reads a scenario from the JSON file named by argv[2], prints autocannon's summary as JSON on stdout.
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

interface Scenario {
  url: string;
  connections: number;
  duration: number;
  /** Requests cycled through, one per request, e.g. different keys or bodies. */
  requests: { method: string; path: string; headers: Record<string, string>; body?: string }[];
}

const scenario = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Scenario;
let next = 0;
const result = await autocannon({
  url: scenario.url,
  connections: scenario.connections,
  duration: scenario.duration,
  pipelining: 1,
  requests: [
    {
      setupRequest: (req) => {
        const r = scenario.requests[next++ % scenario.requests.length]!;
        return { ...req, method: r.method as 'GET', path: r.path, headers: r.headers, body: r.body };
      },
    },
  ],
});
console.log(
  JSON.stringify({
    requests: result.requests.total,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    timeouts: result.timeouts,
    statusCodes: result.statusCodeStats,
  }),
);
