import type { AppError } from '../kernel/errors.js';
import type { RequestInfo } from '../http/request.js';

/** What the front door hands Yoga beside the request: the request's facts, and its body's fate. */
export interface GraphQLServerContext {
  info: RequestInfo;
  /** Why the body could not be read (too large, not UTF-8): answered as a GraphQL error. */
  bodyError?: AppError;
}
