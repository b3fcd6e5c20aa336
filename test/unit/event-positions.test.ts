import { afterEach, describe, expect, it, vi } from 'vitest';
import { resumePoint } from '../../src/domain/events/service.js';
import { Recheck } from '../../src/domain/events/stream.js';

describe('a resume point', () => {
  it('is Last-Event-ID when sent, else `after`, else 0', () => {
    expect(resumePoint('5342208', 12)).toBe(5342208);
    expect(resumePoint(undefined, 12)).toBe(12);
    expect(resumePoint('', undefined)).toBe(0);
    expect(resumePoint(null, undefined)).toBe(0);
  });

  it('takes ids up to JavaScript exact integers, and refuses anything else with 400', () => {
    expect(resumePoint(String(Number.MAX_SAFE_INTEGER), undefined)).toBe(Number.MAX_SAFE_INTEGER);
    for (const bad of ['-1', '1.5', 'abc', '12345678901234567', String(Number.MAX_SAFE_INTEGER + 2)]) {
      expect(() => resumePoint(bad, undefined), bad).toThrow(expect.objectContaining({ status: 400 }));
    }
  });
});

describe('a stream waiting for events held behind the watermark', () => {
  afterEach(() => vi.useRealTimers());

  it('looks again after 5 ms, then 10, 20, … at most every 250 ms, once per wait, and starts over when nothing waits', () => {
    vi.useFakeTimers();
    const wakes: number[] = [];
    const recheck = new Recheck(() => wakes.push(Date.now()));
    const start = Date.now();
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      recheck.after(true);
      recheck.after(true); // a second read before the wake schedules nothing more
      const before = wakes.length;
      vi.advanceTimersToNextTimer();
      expect(wakes.length).toBe(before + 1);
      delays.push(wakes.at(-1)! - (wakes.at(-2) ?? start));
    }
    expect(delays).toEqual([5, 10, 20, 40, 80, 160, 250, 250]);
    recheck.after(false);
    recheck.after(true);
    vi.advanceTimersToNextTimer();
    expect(wakes.at(-1)! - wakes.at(-2)!).toBe(5);
  });

  it('never wakes after it is stopped', () => {
    vi.useFakeTimers();
    let wakes = 0;
    const recheck = new Recheck(() => wakes++);
    recheck.after(true);
    recheck.stop();
    vi.advanceTimersByTime(1_000);
    expect(wakes).toBe(0);
  });
});
