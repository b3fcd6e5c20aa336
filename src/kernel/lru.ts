/**
 * A Map that holds at most `max` entries: adding a new key to a full one first drops the oldest.
 *
 * Which entry is the oldest depends on `order`:
 * - `recency` (the default): the least recently used. `get` and `set` mark an entry as just used;
 *   `peek` reads without marking.
 * - `insertion`: the first inserted. Nothing moves an entry: `get` reads as `peek` does, and a new
 *   value for a held key keeps the key's place.
 *
 * `onEvict` hears each entry dropped to make room (not those removed by `delete` or `clear`).
 * Iteration runs from the oldest entry to the newest. Built on a Map, whose keys keep their
 * insertion order: the first key is the oldest.
 */
export class Lru<K, V> implements Iterable<[K, V]> {
  private readonly map = new Map<K, V>();
  private readonly refresh: boolean;
  private readonly onEvict?: (key: K, value: V) => void;

  constructor(
    readonly max: number,
    options: { order?: 'recency' | 'insertion'; onEvict?: (key: K, value: V) => void } = {},
  ) {
    this.refresh = (options.order ?? 'recency') === 'recency';
    this.onEvict = options.onEvict;
  }

  get size(): number {
    return this.map.size;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** The value held for `key`, marking it as just used (in `recency` order). */
  get(key: K): V | undefined {
    if (!this.refresh || !this.map.has(key)) return this.map.get(key);
    const value = this.map.get(key)!;
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  /** The value held for `key`, leaving its place as it is. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  /** Holds `value` for `key`; a new key in a full cache drops the oldest entry first. */
  set(key: K, value: V): this {
    if (this.map.has(key)) {
      if (this.refresh) this.map.delete(key);
    } else if (this.map.size >= this.max && this.map.size > 0) {
      const [oldest, dropped] = this.map.entries().next().value!;
      this.map.delete(oldest);
      this.onEvict?.(oldest, dropped);
    }
    this.map.set(key, value);
    return this;
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  /** Entries from the oldest to the newest; deleting while iterating is safe (as with a Map). */
  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.map.entries();
  }
}
