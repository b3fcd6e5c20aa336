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
  /** Each request a random one of `requests` instead of the next in turn. */
  random?: boolean;
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
        const i = scenario.random ? Math.floor(Math.random() * scenario.requests.length) : next++;
        const r = scenario.requests[i % scenario.requests.length]!;
        return { ...req, method: r.method as 'GET', path: r.path, headers: r.headers, body: r.body };
      },
    },
  ],
});
console.log(
  JSON.stringify({
    requests: result.requests.total,
    // Sent, answered or not: those still in flight when the window closed are answered after it.
    sent: result.requests.sent,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    timeouts: result.timeouts,
    statusCodes: result.statusCodeStats,
  }),
);
