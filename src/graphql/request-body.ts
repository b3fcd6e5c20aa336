import type { Plugin } from 'graphql-yoga';
import { AppError } from '../kernel/errors.js';
import { isUtf8Charset, payloadTooLarge, unsupportedCharset } from '../http/body.js';
import { toGraphQLError } from './errors.js';
import type { GraphQLServerContext } from './server-context.js';

/**
 * The body of a GraphQL request, held to the REST door's rules: at most MAX_BODY_BYTES (413, told
 * by Content-Length or counted while the front door read it), UTF-8 (bytes that are not are a 400,
 * a charset other than UTF-8 a 415), and a media type Yoga reads (else 415, in the contract's shape
 * rather than Yoga's empty 415). The body itself was read once, by the GraphQL door, which tells
 * here why it could not be (`bodyError`).
 */
export function useRequestBody(maxBytes: number): Plugin<Record<string, unknown>, GraphQLServerContext> {
  return {
    onRequestParse({ request, requestParser, serverContext }) {
      const declared = request.headers.get('content-length');
      if (declared !== null && Number(declared) > maxBytes) throw toGraphQLError(payloadTooLarge(maxBytes));
      if (request.method !== 'POST') return; // GET carries no body; other methods are Yoga's 405
      if (!requestParser) {
        throw toGraphQLError(
          new AppError('UNSUPPORTED_MEDIA_TYPE', 'A GraphQL request is sent as Content-Type: application/json (or application/graphql)'),
        );
      }
      if (!isUtf8Charset(request.headers.get('content-type'))) throw toGraphQLError(unsupportedCharset());
      if (serverContext.bodyError) throw toGraphQLError(serverContext.bodyError);
    },
  };
}
