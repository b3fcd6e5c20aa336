import { describe, expect, it } from 'vitest';
import { mergePatch } from '../../src/kernel/merge-patch.js';
import { APPENDIX_A } from '../rfc7396.js';

describe('mergePatch', () => {
  it.each(APPENDIX_A)('%j patched with %j is %j', (target, patch, result) => {
    const before = JSON.stringify(target);
    expect(mergePatch(target, patch)).toEqual(result);
    // The stored value is not changed in place.
    expect(JSON.stringify(target)).toBe(before);
  });
});
