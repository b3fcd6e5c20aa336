import { z } from 'zod';
import { badRequest } from '../errors.js';

const MAX_JSON_BYTES = 16 * 1024;

/** Any JSON value (one instance, so documents generated from the schemas can name it once). */
export const jsonValue = z.json();

/** A JSON object (not an array or scalar) of bounded size, as stored in `profile`. */
export const jsonObject = z
  .record(z.string(), jsonValue)
  .refine((value) => JSON.stringify(value).length <= MAX_JSON_BYTES, {
    message: `must be at most ${MAX_JSON_BYTES} bytes of JSON`,
  });

/** The operator's billing plan: any JSON object; `concurrency`, when present, is the hard cap. */
export const billingPlanSchema = z
  .looseObject({ concurrency: z.number().int().min(0).max(1_000_000).optional() })
  .refine((value) => JSON.stringify(value).length <= MAX_JSON_BYTES, {
    message: `must be at most ${MAX_JSON_BYTES} bytes of JSON`,
  })
  .nullable();

/** Parses service input; a failure becomes a 400 whose message names each field and the problem. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  throw badRequest(describeIssues(result.error));
}

export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.join('.');
      if (issue.code === 'unrecognized_keys') return `unknown field(s): ${issue.keys.join(', ')}`;
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}
