/** Who is calling: the verified API key and, for a customer key, the customer it belongs to. */
export type Principal =
  | { type: 'system'; apiKeyId: number; keyId: string }
  | { type: 'customer'; apiKeyId: number; keyId: string; customerId: number };
