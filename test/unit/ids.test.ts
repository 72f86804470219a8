// Sandbox and container IDs: containerd's form, never handed out twice,
// across the refills of the pool they are drawn from.
import { describe, expect, it } from 'vitest';
import { newId } from '../../src/runtime/ids.js';

describe('newId', () => {
  it('gives 64 hex digits, a different ID each time, pool refill or not', () => {
    const ids = Array.from({ length: 100 }, () => newId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
