import { z } from 'zod';
import { badRequest } from './errors.js';

/** The most a stored JSON object (a profile, a billing plan) may hold, as JSON text. */
export const MAX_JSON_BYTES = 16 * 1024;

/** Any JSON value (one instance, so documents generated from the schemas can name it once). */
export const jsonValue = z.json();

/** A JSON object (not an array or scalar) of bounded size, as stored in `profile`. */
export const jsonObject = z
  .record(z.string(), jsonValue)
  .refine((value) => JSON.stringify(value).length <= MAX_JSON_BYTES, {
    message: `must be at most ${MAX_JSON_BYTES} bytes of JSON`,
  });

/** How deeply stored JSON (profile, billing plan, setting values) may nest objects and arrays. */
export const MAX_JSON_DEPTH = 32;

/**
 * Why a piece of text cannot be stored, or undefined: PostgreSQL refuses NUL in `text` and `jsonb`,
 * and an unpaired surrogate is not Unicode (jsonb refuses its escape).
 */
export function textProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'may not contain the NUL character (\\u0000)';
  if (!text.isWellFormed()) return 'must be valid Unicode text (no unpaired surrogates)';
  return undefined;
}

/**
 * Why a JSON value cannot be stored, or undefined: objects and arrays nested more than
 * MAX_JSON_DEPTH levels (the value itself is level 1), or a string or key with a textProblem.
 * Walks with its own stack, so a hostile nesting (10,000 levels) is a 400, not a stack overflow.
 */
export function jsonProblem(value: unknown): string | undefined {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (typeof item === 'string') {
      const problem = textProblem(item);
      if (problem) return `text ${problem}`;
    } else if (item !== null && typeof item === 'object') {
      if (depth > MAX_JSON_DEPTH) return `may nest objects and arrays at most ${MAX_JSON_DEPTH} levels deep`;
      if (Array.isArray(item)) {
        for (const element of item) stack.push([element, depth + 1]);
      } else {
        for (const [key, element] of Object.entries(item)) {
          const problem = textProblem(key);
          if (problem) return `keys ${problem}`;
          stack.push([element, depth + 1]);
        }
      }
    }
  }
  return undefined;
}

/**
 * Parses service input; a failure becomes a 400 whose message names each field and the problem.
 * Every field is first checked with jsonProblem (before the schema, whose checks recurse), so the
 * rule on nesting and text holds for every door and every field, stored JSON or not.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  if (input !== null && typeof input === 'object' && !Array.isArray(input)) {
    for (const [field, value] of Object.entries(input)) {
      const nameProblem = textProblem(field);
      if (nameProblem) throw badRequest(`field names ${nameProblem}`);
      const problem = jsonProblem(value);
      if (problem) throw badRequest(`${field}: ${problem}`);
    }
  } else {
    const problem = jsonProblem(input);
    if (problem) throw badRequest(problem);
  }
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
