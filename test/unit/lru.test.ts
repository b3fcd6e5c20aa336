import { describe, expect, it } from 'vitest';
import { Lru } from '../../src/kernel/lru.js';

const keys = (lru: Lru<string, number>) => [...lru].map(([key]) => key);

describe('a bounded cache in recency order (the default)', () => {
  it('drops the least recently used entry when a new key would pass the bound', () => {
    const lru = new Lru<string, number>(3);
    lru.set('a', 1).set('b', 2).set('c', 3);
    expect(lru.get('a')).toBe(1); // a is now the most recently used
    lru.set('d', 4);
    expect(lru.has('b')).toBe(false);
    expect(keys(lru)).toEqual(['c', 'a', 'd']);
    expect(lru.size).toBe(3);
  });

  it('reads without refreshing with peek, and a new value for a held key refreshes it and drops nothing', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1).set('b', 2);
    expect(lru.peek('a')).toBe(1);
    lru.set('c', 3);
    expect(keys(lru)).toEqual(['b', 'c']);
    lru.set('b', 20);
    expect(keys(lru)).toEqual(['c', 'b']);
    expect(lru.get('b')).toBe(20);
    expect(lru.size).toBe(2);
  });

  it('tells onEvict of each entry dropped for room, not of those deleted or cleared', () => {
    const dropped: [string, number][] = [];
    const lru = new Lru<string, number>(1, { onEvict: (key, value) => dropped.push([key, value]) });
    lru.set('a', 1).set('b', 2);
    lru.delete('b');
    lru.set('c', 3);
    lru.clear();
    expect(dropped).toEqual([['a', 1]]);
    expect(lru.size).toBe(0);
  });

  it('answers undefined for a key it does not hold, and delete says whether it held it', () => {
    const lru = new Lru<string, number>(2);
    expect(lru.get('x')).toBeUndefined();
    expect(lru.peek('x')).toBeUndefined();
    lru.set('x', 0);
    expect(lru.get('x')).toBe(0);
    expect(lru.delete('x')).toBe(true);
    expect(lru.delete('x')).toBe(false);
  });
});

describe('a bounded cache in insertion order', () => {
  it('drops the first inserted entry, however recently it was read', () => {
    const lru = new Lru<string, number>(2, { order: 'insertion' });
    lru.set('a', 1).set('b', 2);
    expect(lru.get('a')).toBe(1);
    lru.set('c', 3);
    expect(keys(lru)).toEqual(['b', 'c']);
  });

  it('keeps a held key in its place when its value changes', () => {
    const lru = new Lru<string, number>(2, { order: 'insertion' });
    lru.set('a', 1).set('b', 2).set('a', 10);
    expect(keys(lru)).toEqual(['a', 'b']);
    lru.set('c', 3);
    expect(keys(lru)).toEqual(['b', 'c']);
  });

  it('may be emptied while iterated', () => {
    const lru = new Lru<string, number>(3, { order: 'insertion' });
    lru.set('a', 1).set('b', 2).set('c', 3);
    for (const [key, value] of lru) if (value % 2 === 1) lru.delete(key);
    expect(keys(lru)).toEqual(['b']);
  });
});
