/** Facts about a request gathered on the way through (for the request log and metrics). */
export interface RequestInfo {
  requestId?: string;
  start?: number;
  /** The matched route template, e.g. `/customers/{customer}/settings`. */
  route?: string;
  keyId?: string;
  /** The answer is produced as it is sent (every tenant, an event stream): never read it whole. */
  streamed?: boolean;
}

const infos = new WeakMap<Request, RequestInfo>();

export function requestInfo(request: Request): RequestInfo {
  let info = infos.get(request);
  if (!info) infos.set(request, (info = {}));
  return info;
}
