/** Who is calling: the verified API key and, for a customer key, the customer it belongs to. */
export type Principal =
  | { type: 'system'; apiKeyId: number; keyId: string }
  | { type: 'customer'; apiKeyId: number; keyId: string; customerId: number };

/** Who made a change: a key (its public keyId and kind) or the operator's command-line tool. */
export interface Actor {
  keyId: string | null;
  kind: 'customer' | 'system' | 'cli';
}
