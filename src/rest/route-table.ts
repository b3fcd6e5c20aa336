import { badRequest } from '../kernel/errors.js';

// The REST door's path and query reading (router.ts), apart from any I/O: the route table's matching
// and the `Allow` header of a path, path parameters decoded once, the query string read for a schema.

export interface Match<R> {
  template: string;
  /** The raw (still percent-encoded) segments of the request path. */
  segments: string[];
  methods: Map<string, R>;
  /** The `Allow` header of the path. */
  allow: string;
}

/**
 * Paths are matched on their raw segments, split on `/` before any decoding, so an encoded `/`
 * (`%2F`) in a customer's name stays inside its segment. A parameter matches any non-empty segment.
 */
export class RouteTable<R extends { method: string; path: string }> {
  private readonly paths: { template: string; parts: string[]; methods: Map<string, R>; allow: string }[] = [];

  constructor(routes: R[]) {
    for (const route of routes) {
      let path = this.paths.find((p) => p.template === route.path);
      if (!path) {
        path = { template: route.path, parts: route.path.split('/').slice(1), methods: new Map(), allow: '' };
        this.paths.push(path);
      }
      if (path.methods.has(route.method)) throw new Error(`Two routes for ${route.method} ${route.path}`);
      path.methods.set(route.method, route);
    }
    for (const path of this.paths) {
      const methods = [...path.methods.keys()];
      if (methods.includes('GET')) methods.splice(methods.indexOf('GET') + 1, 0, 'HEAD');
      path.allow = methods.join(', ');
    }
  }

  match(pathname: string): Match<R> | undefined {
    const segments = pathname.split('/').slice(1);
    for (const path of this.paths) {
      if (path.parts.length !== segments.length) continue;
      const fits = path.parts.every((part, i) => (isParam(part) ? segments[i] !== '' : part === segments[i]));
      if (fits) return { template: path.template, segments, methods: path.methods, allow: path.allow };
    }
    return undefined;
  }
}

const isParam = (part: string) => part.startsWith('{') && part.endsWith('}');

/** The path parameters, each segment URI-decoded exactly once. */
export function decodeParams(template: string, segments: string[]): Record<string, string> {
  const params: Record<string, string> = {};
  template
    .split('/')
    .slice(1)
    .forEach((part, i) => {
      if (!isParam(part)) return;
      const raw = segments[i]!;
      try {
        params[part.slice(1, -1)] = decodeURIComponent(raw);
      } catch {
        throw badRequest(`The path segment "${raw}" is not valid percent-encoded UTF-8`);
      }
    });
  return params;
}

const DECIMAL = /^[0-9]+$/;

/** The query string as an object for the route's schema: decimal values become numbers; a repeated name is refused. */
export function readQuery(url: URL): Record<string, string | number> {
  const query: Record<string, string | number> = {};
  for (const name of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(name);
    if (values.length > 1) throw badRequest(`The query parameter "${name}" may be given once`);
    const value = values[0]!;
    query[name] = DECIMAL.test(value) ? Number(value) : value;
  }
  return query;
}
