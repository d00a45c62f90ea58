import { mapPool } from '../../server/lib/pool';

describe('mapPool', () => {
  it('when given more items than its limit, then it runs each once with at most limit in flight', async () => {
    let running = 0;
    let peak = 0;
    const seen: number[] = [];
    const results = await mapPool([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      seen.push(n);
      running--;
      return n * 10;
    });
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(peak).toBe(3);
    expect(results).toEqual([10, 20, 30, 40, 50, 60, 70]);
  });
});
