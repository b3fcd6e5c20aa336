/**
 * TCP keepalive on every database connection (the pool, the migrator, the LISTEN connection, the
 * start-up lock): a peer that vanished without a reset (a dropped NAT flow, a dead host) is found by
 * the kernel after this idle time plus its probes, instead of never. The statement and feed timeouts
 * bound what a request waits; this frees the socket.
 */
export const KEEPALIVE = { keepAlive: true, keepAliveInitialDelayMillis: 10_000 } as const;
