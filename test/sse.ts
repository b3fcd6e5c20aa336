/** One Server-Sent Event as a client reads it. */
export interface Sse {
  id?: string;
  event?: string;
  data?: string;
}

/**
 * Reads a Server-Sent Events body: `next(n, ms)` waits for n more events (comments are skipped),
 * or for the end of the stream, for at most `ms`; answers the events read.
 */
export function sseReader(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let ended = false;
  const queue: Sse[] = [];
  let pending: Promise<void> | undefined;

  const pump = async () => {
    const { done, value } = await reader.read();
    if (done) {
      ended = true;
      return;
    }
    buffer += decoder.decode(value, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const event: Sse = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const [field, ...rest] = line.split(':');
        const value = rest.join(':').replace(/^ /, '');
        if (field === 'id' || field === 'event' || field === 'data') event[field] = value;
      }
      if (event.data !== undefined || event.event !== undefined) queue.push(event);
    }
  };

  return {
    get ended() {
      return ended;
    },
    async next(count: number, ms = 2000): Promise<Sse[]> {
      const until = Date.now() + ms;
      while (queue.length < count && !ended && Date.now() < until) {
        pending ??= pump().finally(() => (pending = undefined));
        await Promise.race([pending, new Promise((r) => setTimeout(r, Math.max(0, until - Date.now())))]);
      }
      return queue.splice(0, Math.min(count, queue.length));
    },
    cancel: () => reader.cancel().catch(() => {}),
  };
}
