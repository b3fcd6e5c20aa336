import { createHash, randomInt } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** A bearer secret: "XI" and 32 characters from [A-Za-z0-9]. The one place the pattern is written. */
export const SECRET_PATTERN = /^XI[A-Za-z0-9]{32}$/;
/** The same, anywhere in a text (log lines and error messages mask it). */
export const SECRET_IN_TEXT = new RegExp(SECRET_PATTERN.source.slice(1, -1), 'g');

function randomString(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

/** A stream ticket (domain/events/tickets.ts): "st_" and 32 characters from [A-Za-z0-9]. */
export const TICKET_PATTERN = /^st_[A-Za-z0-9]{32}$/;
/** The same, anywhere in a text (log lines and error messages mask it, as they mask secrets). */
export const TICKET_IN_TEXT = new RegExp(TICKET_PATTERN.source.slice(1, -1), 'g');

/** A stream ticket: single use and short-lived, but a credential while it lives (~190 bits). */
export function generateTicket(): string {
  return `st_${randomString(32)}`;
}

/** A bearer secret: "XI" and 32 characters from [A-Za-z0-9] (~190 bits). */
export function generateSecret(): string {
  return `XI${randomString(32)}`;
}

export function isWellFormedSecret(secret: string): boolean {
  return SECRET_PATTERN.test(secret);
}

/**
 * Secrets are random and long, so a plain SHA-256 is enough to make the stored value useless to a
 * reader of the database, and it stays an index lookup (no per-row salt to try).
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** The public, loggable identifier of a key. */
export function generateKeyId(): string {
  return `key_${randomString(16)}`;
}

/** The secret from an `Authorization: Bearer <secret>` header, or undefined when malformed. */
export function parseBearer(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match || !isWellFormedSecret(match[1]!)) return undefined;
  return match[1];
}

/** Replaces anything shaped like an API secret or a stream ticket, wherever it appears in a string. */
export function redactSecrets(text: string): string {
  return text.replace(SECRET_IN_TEXT, 'XI********').replace(TICKET_IN_TEXT, 'st_********');
}
