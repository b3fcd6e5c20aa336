import type { Logger } from 'pino';
import { describeError, toAppError } from '../kernel/errors.js';
import type { HttpRequest } from './request.js';
import { errorResponse, type HttpResponse } from './response.js';

/** What answers a request once the hooks have let it through: the front door's router to the two doors. */
export type Handler = (request: HttpRequest) => Promise<HttpResponse>;

/**
 * One concern of the front door (src/http/hooks/), on the request's lifecycle, modelled on fastify's
 * `onRequest → handler → onSend → onResponse`. Each stage runs its hooks in the order they are
 * listed (boot/app.ts); a hook has only the stages it needs.
 *
 *   around      the whole of what follows runs inside it (tracing: the request's server span,
 *               active for everything below it; the outermost listed first)
 *   onRequest   before the handler; a hook may answer here (a CORS preflight), and then the
 *               handler is not called and the later hooks' onRequest not run
 *   handler     the REST or the GraphQL door
 *   onSend      the answer on its way out: headers added, or the answer replaced (compressed); may
 *               be asynchronous (return a promise) where the work is
 *   (error)     anything thrown by the stages above becomes the error envelope, logged as an
 *               unexpected error; the envelope skips onSend
 *   onResponse  every answer, the error envelope included, as it leaves the door and before it is
 *               written: its last headers (the request id), the log line, metrics; `ms` is the
 *               time since the request came in, measured once for all of them
 *
 * Nothing here allocates per hook or per request beyond the answer itself, and a synchronous hook
 * adds no asynchronous step.
 */
export interface FrontDoorHook {
  readonly name: string;
  around?(request: HttpRequest, next: (request: HttpRequest) => Promise<HttpResponse>): Promise<HttpResponse>;
  onRequest?(request: HttpRequest): HttpResponse | undefined;
  onSend?(request: HttpRequest, response: HttpResponse): HttpResponse | Promise<HttpResponse> | undefined;
  onResponse?(request: HttpRequest, response: HttpResponse, ms: number): void;
}

type With<K extends keyof FrontDoorHook> = FrontDoorHook & Required<Pick<FrontDoorHook, K>>;

const has =
  <K extends keyof FrontDoorHook>(stage: K) =>
  (hook: FrontDoorHook): hook is With<K> =>
    typeof hook[stage] === 'function';

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T> | undefined)?.then === 'function';
}

/** The front door's hooks around a handler, as one function from request to answer. */
export function createPipeline(hooks: readonly FrontDoorHook[], handler: Handler, logger: Pick<Logger, 'error'>): Handler {
  const onRequest = hooks.filter(has('onRequest'));
  const onSend = hooks.filter(has('onSend'));
  const onResponse = hooks.filter(has('onResponse'));
  const around = hooks.filter(has('around'));

  async function answer(request: HttpRequest): Promise<HttpResponse> {
    let response: HttpResponse | undefined;
    try {
      for (let i = 0; i < onRequest.length && response === undefined; i++) response = onRequest[i]!.onRequest(request);
      if (response === undefined) response = await handler(request);
      for (let i = 0; i < onSend.length; i++) {
        const sent = onSend[i]!.onSend(request, response);
        if (sent !== undefined) response = isPromise(sent) ? await sent : sent;
      }
    } catch (error) {
      logger.error({ err: describeError(error) }, 'unexpected error');
      response = errorResponse(toAppError(error));
    }
    const ms = performance.now() - request.info.start;
    for (let i = 0; i < onResponse.length; i++) onResponse[i]!.onResponse(request, response, ms);
    return response;
  }

  let handle: Handler = answer;
  for (let i = around.length - 1; i >= 0; i--) {
    const hook = around[i]!;
    const next = handle;
    handle = (request) => hook.around(request, next);
  }
  return handle;
}
