import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { CloseCode, type Context, type OperationResult, type SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { appOptions, type AppInput } from '../kernel/config.js';
import { AppError, describeError, toAppError } from '../kernel/errors.js';
import { requestId } from '../http/hooks/request-id.js';
import type { RequestInfo } from '../http/request.js';
import type { Logger } from 'pino';
import type { Services } from '../domain/services.js';
import { PUBLIC_GRAPHQL, createGraphQLServer } from './door.js';
import { appErrorOf, createMaskError, toGraphQLError } from './errors.js';
import { loadTrustedDocuments } from './trusted-documents.js';

/** A WebSocket close reason is at most 123 bytes (RFC 6455 §5.5): longer messages are cut. */
const reason = (text: string) => (Buffer.byteLength(text) <= 123 ? text : `${Buffer.from(text).subarray(0, 120).toString().replace(/\uFFFD$/, '')}...`);

/** What a socket carries between its messages: the key it authenticated with. */
interface SocketState {
  authorization?: string;
}
type Extra = { socket: WebSocket; request: IncomingMessage; state: SocketState };

/** The close code for a refused key: 4401 (no key, unknown or revoked), 4403 (customer inactive), as graphql-ws names them. */
function closeCodeOf(error: AppError): number {
  return error.status === 403 ? CloseCode.Forbidden : CloseCode.Unauthorized;
}

/** The coded error behind a GraphQL error, including one already in the contract's form (the context factory throws these). */
function refusalOf(error: unknown): AppError | undefined {
  const coded = appErrorOf(error);
  if (coded) return coded;
  if (error instanceof GraphQLError) {
    const status = (error.extensions?.http as { status?: number } | undefined)?.status;
    if (status === 401 || status === 403) return new AppError(status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN', error.message);
  }
  return undefined;
}

/** Parse and validation errors as the contract has them over HTTP: BAD_REQUEST, 400. */
const badRequest = (errors: readonly GraphQLError[]) =>
  errors.map((error) =>
    new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions: { code: 'BAD_REQUEST', http: { status: 400 } } }),
  );

export interface WebSocketTransport {
  /** Open sockets. */
  readonly sockets: number;
  /** Shutdown: refuses new sockets and closes every open one with 1001 (going away) and `why`. */
  close(why?: string): Promise<void>;
}

/**
 * GraphQL over WebSocket (the graphql-transport-ws protocol of graphql-ws, which Apollo's
 * GraphQLWsLink, urql and Relay use) at /graphql on `server`'s port, built as Yoga's graphql-ws
 * recipe is: each operation runs through the /graphql door's own Yoga (`getEnveloped`), so the same
 * plugins apply (operation limits, error masking and codes, tracing, graphql-jit), and through the
 * same authentication (authenticateRequest: key, rate limit, activity).
 *
 * - The key is `connectionParams.Authorization` (or `authorization`): `"Bearer …"`, or else the
 *   upgrade request's Authorization header. It is checked at `connection_init` (a refused key closes
 *   the socket, 4401 or 4403) and again for every operation, whose context is that of an HTTP request.
 * - Subscriptions are those of SSE: each authorized on its own (another customer's is refused with
 *   an `error` message), each holding one of the key's MAX_STREAMS_PER_KEY slots (shared with SSE).
 *   A stream that finds its key suspended or deleted, or its customer deactivated, closes the socket
 *   with 4401 or 4403 and the reason.
 * - A browser's upgrade (one with an Origin header) is refused with 403 unless the origin is one of
 *   CORS_ORIGINS; a client that sends no Origin is not a browser and is not subject to it.
 */
export function attachWebSocket(server: Server, services: Services, logger: Logger, input: AppInput): WebSocketTransport {
  const options = appOptions(input);
  const yoga = createGraphQLServer(services, logger, options, PUBLIC_GRAPHQL);
  const trusted = options.TRUSTED_DOCUMENTS ? new Set(loadTrustedDocuments(options.TRUSTED_DOCUMENTS).values()) : undefined;
  const maskError = createMaskError((error) => logger.error({ err: describeError(error) }, 'unexpected error'));
  // Messages are GraphQL requests: no larger than a request body may be.
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.MAX_BODY_BYTES });
  let closing = false;

  const refuse = (socket: Duplex, status: number, text: string) => {
    socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== PUBLIC_GRAPHQL.path) return refuse(socket, 404, 'Not Found');
    if (closing) return refuse(socket, 503, 'Service Unavailable');
    const origin = request.headers.origin;
    if (origin !== undefined && !options.CORS_ORIGINS.includes(origin) && !options.CORS_ORIGINS.includes('*')) {
      logger.info({ origin }, 'a WebSocket from an origin not in CORS_ORIGINS was refused');
      return refuse(socket, 403, 'Forbidden');
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      // A socket's 'error' is a client breaking the protocol (a message over maxPayload, a bad
      // frame), and ws closes the socket itself (1009, 1002). graphql-ws would print each one with
      // its stack through console.error: its listener is kept out, and the log says it briefly.
      const once = ws.once.bind(ws);
      ws.once = ((event: string, listener: (...args: unknown[]) => void) =>
        event === 'error' ? ws.on('error', (error) => logger.info({ reason: error.message }, 'a WebSocket client broke the protocol')) : once(event, listener)) as typeof ws.once;
      wss.emit('connection', ws, request);
    });
  };
  server.on('upgrade', onUpgrade);

  const refuseSocket = (ctx: Context<Record<string, unknown>, Extra>, error: AppError) => {
    ctx.extra.socket.close(closeCodeOf(error), reason(error.message));
  };

  const handle = useServer<Record<string, unknown>, { state: SocketState }>(
    {
      // The recipe's: each operation's own enveloped execute/subscribe, carried in rootValue.
      execute: (args) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const given = params.Authorization ?? params.authorization ?? ctx.extra.request.headers.authorization;
        const authorization = typeof given === 'string' ? given : undefined;
        try {
          await services.authenticator.authenticate(authorization);
        } catch (error) {
          const refusal = toAppError(error);
          if (refusal.status === 401 || refusal.status === 403) {
            refuseSocket(ctx as Context<Record<string, unknown>, Extra>, refusal);
          } else {
            // The key could not be checked (the database is away): logged here, safely, rather than
            // thrown to graphql-ws, which would print it and send its text as the close reason.
            logger.warn({ err: describeError(error) }, 'could not check the key of a WebSocket');
            ctx.extra.socket.close(1011, 'The service could not check the key; reconnect shortly');
          }
          return false;
        }
        (ctx.extra as Extra).state = { authorization };
        return true;
      },
      onSubscribe: async (ctx, _id, payload: SubscribePayload) => {
        if (trusted && !trusted.has(payload.query)) {
          return [toGraphQLError(new AppError('BAD_REQUEST', 'Only trusted documents run on this service'))];
        }
        const extra = ctx.extra as Extra;
        const info: RequestInfo = { requestId: requestId(null), start: performance.now(), route: PUBLIC_GRAPHQL.path };
        const request = new Request(`http://websocket${PUBLIC_GRAPHQL.path}`, {
          method: 'POST',
          headers: extra.state.authorization ? { authorization: extra.state.authorization } : {},
        });
        const params = { query: payload.query, operationName: payload.operationName ?? undefined, variables: payload.variables ?? undefined, extensions: payload.extensions ?? undefined };
        const enveloped = yoga.getEnveloped({ request, params, info });
        let document;
        try {
          document = enveloped.parse(payload.query);
        } catch (error) {
          return badRequest([error instanceof GraphQLError ? error : new GraphQLError('The document could not be parsed')]);
        }
        const errors = enveloped.validate(enveloped.schema, document);
        if (errors.length) return badRequest(errors);
        let contextValue;
        try {
          contextValue = await enveloped.contextFactory();
        } catch (error) {
          return [maskError(error) as GraphQLError];
        }
        return {
          schema: enveloped.schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue,
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
        } satisfies ExecutionArgs;
      },
      onError: (ctx, _id, _payload, errors) => {
        // A stream that found its key refused (suspended, deleted, customer inactive): the socket's
        // key is no good any more, so the socket goes with it.
        for (const error of errors) {
          const refusal = refusalOf(error);
          if (refusal && (refusal.status === 401 || refusal.status === 403)) refuseSocket(ctx as Context<Record<string, unknown>, Extra>, refusal);
        }
        // What goes to the client is masked as over HTTP (no internals).
        return errors.map((error) => maskError(error) as GraphQLError);
      },
    },
    wss,
  );

  return {
    get sockets() {
      return wss.clients.size;
    },
    async close(why = 'The service is shutting down; reconnect to resume') {
      closing = true;
      server.off('upgrade', onUpgrade);
      for (const socket of wss.clients) socket.close(1001, reason(why));
      await Promise.resolve(handle.dispose()).catch(() => {});
    },
  };
}

type Enveloped = {
  execute: (args: ExecutionArgs) => OperationResult;
  subscribe: (args: ExecutionArgs) => OperationResult;
};
