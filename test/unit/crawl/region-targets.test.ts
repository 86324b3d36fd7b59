import { describe, expect, it } from 'vitest';
import { RegionTargets } from '../../../src/core/crawl/region-targets.js';

// Regions of depth 8 (the first byte), sub-regions of 4 bits (the high nibble of the second byte).
const DEPTH = 8;
const REGION = 0xa7;

/** An id in sub-region `sub` of the region, `low` telling ids of one sub-region apart. */
function idIn(sub: number, low = 0, region = REGION): Uint8Array {
  const id = new Uint8Array(20);
  id[0] = region;
  id[1] = (sub << 4) | (low & 0x0f);
  id[2] = low >> 4;
  return id;
}

const subOf = (start: Uint8Array): number => start[1] >> 4;
const nodes = (...ids: Uint8Array[]) => ids.map((id) => ({ id }));

describe('region targets', () => {
  it('spreads the visits of a region over its sub-regions, ties in bit-reversed order', () => {
    const t = new RegionTargets({ bits: 4, byListed: true });
    const aimed = Array.from({ length: 16 }, () => subOf(t.aim(idIn(3), DEPTH)));
    expect(aimed.slice(0, 4)).toEqual([0, 8, 4, 12]);
    expect(new Set(aimed).size).toBe(16);
    expect(t.prefixBits(DEPTH)).toBe(4);
  });

  it('aims where the fewest nodes were listed, a visit aimed there counting as two', () => {
    const t = new RegionTargets({ bits: 4, byListed: true });
    for (let sub = 0; sub < 16; sub++) if (sub !== 5) for (let k = 0; k < 3; k++) t.noteListed(idIn(sub, k), DEPTH);
    expect(subOf(t.aim(idIn(0), DEPTH))).toBe(5); // 0 listed
    expect(subOf(t.aim(idIn(0), DEPTH))).toBe(5); // one visit aimed there (2) against 3 listed
    expect(subOf(t.aim(idIn(0), DEPTH))).not.toBe(5); // two visits (4) against 3
    // another region has counts of its own
    expect(subOf(t.aim(idIn(0, 0, 0x11), DEPTH))).toBe(0);
  });

  it('without byListed, only the visits aimed count', () => {
    const t = new RegionTargets({ bits: 2 });
    for (let k = 0; k < 10; k++) t.noteListed(idIn(0, k), DEPTH);
    expect(Array.from({ length: 4 }, () => t.aim(idIn(0), DEPTH)[1] >> 6)).toEqual([0, 2, 1, 3]);
  });

  it('closes the sub-regions of the sender’s quarter that an answer listed whole, and aims elsewhere', () => {
    const t = new RegionTargets({ bits: 4, byListed: true, closing: true });
    const from = idIn(0b0110, 1); // quarter 0b01..: sub-regions 4-7
    // eight nodes, the farthest from the target (in sub-region 5) lying outside the region
    const listed = nodes(idIn(5, 2), idIn(5, 3), idIn(4, 1), idIn(6, 1), idIn(7, 1), idIn(7, 2), idIn(0, 0, 0xa6), idIn(4, 2));
    t.noteAnswer(from, idIn(5, 9), listed, DEPTH);
    const closed = Array.from({ length: 16 }, (_, s) => t.isClosed(idIn(s), DEPTH));
    expect(closed.map((c, s) => (c ? s : -1)).filter((s) => s >= 0)).toEqual([4, 5, 6, 7]);
    // list nodes everywhere but in the closed quarter: the open ones are still aimed at first
    for (let sub = 0; sub < 16; sub++) if (sub < 4 || sub > 7) for (let k = 0; k < 5; k++) t.noteListed(idIn(sub, k), DEPTH);
    const aimed = Array.from({ length: 12 }, () => subOf(t.aim(idIn(0), DEPTH)));
    expect(aimed.filter((s) => s >= 4 && s <= 7)).toEqual([]);
    // once every sub-region is closed the counts alone decide again
    for (let q = 0; q < 4; q++) t.noteAnswer(idIn(q * 4), idIn(q * 4), nodes(idIn(0)), DEPTH);
    expect(Array.from({ length: 16 }, (_, s) => t.isClosed(idIn(s), DEPTH)).every(Boolean)).toBe(true);
    expect([4, 5, 6, 7]).toContain(subOf(t.aim(idIn(0), DEPTH)));
  });

  it('closes only what lies nearer the target than the farthest node listed', () => {
    const t = new RegionTargets({ bits: 4, byListed: true, closing: true });
    const from = idIn(0b0100);
    const target = idIn(0b0101, 7);
    // the farthest in the target's own sub-region: nothing is known to be whole
    t.noteAnswer(from, target, nodes(...Array.from({ length: 8 }, (_, k) => idIn(0b0101, k))), DEPTH);
    expect(Array.from({ length: 16 }, (_, s) => t.isClosed(idIn(s), DEPTH)).some(Boolean)).toBe(false);
    // the farthest in the sibling sub-region (0b0100): only the target's own is whole
    t.noteAnswer(from, target, nodes(...Array.from({ length: 7 }, (_, k) => idIn(0b0101, k)), idIn(0b0100, 1)), DEPTH);
    expect(Array.from({ length: 16 }, (_, s) => (t.isClosed(idIn(s), DEPTH) ? s : -1)).filter((s) => s >= 0)).toEqual([0b0101]);
  });

  it('takes no answer about another region, and none before regions have a size', () => {
    const t = new RegionTargets({ bits: 4, byListed: true, closing: true });
    t.noteAnswer(idIn(4), idIn(4, 0, 0x11), nodes(idIn(4)), DEPTH);
    t.noteAnswer(idIn(4), idIn(4), nodes(idIn(4)), 0);
    expect(Array.from({ length: 16 }, (_, s) => t.isClosed(idIn(s), DEPTH)).some(Boolean)).toBe(false);
    // closing needs byListed
    const plain = new RegionTargets({ bits: 4, closing: true });
    plain.noteAnswer(idIn(4), idIn(4), nodes(idIn(4)), DEPTH);
    expect(plain.isClosed(idIn(4), DEPTH)).toBe(false);
  });

  it('names, per quarter, the open sub-region with the fewest nodes listed', () => {
    const t = new RegionTargets({ bits: 4, byListed: true, closing: true });
    expect(t.openByQuarter(idIn(0), DEPTH)).toEqual([null, null, null, null]); // nothing counted yet
    for (let sub = 0; sub < 16; sub++) for (let k = 0; k < (sub === 6 || sub === 13 ? 1 : 3); k++) t.noteListed(idIn(sub, k), DEPTH);
    // quarter 0 answered whole (fewer than 8 listed)
    t.noteAnswer(idIn(1), idIn(2), nodes(idIn(0), idIn(1), idIn(2)), DEPTH);
    const open = t.openByQuarter(idIn(9), DEPTH).map((start) => (start ? subOf(start) : null));
    expect(open).toEqual([null, 6, 8, 13]);
    // without closing there is nothing to name
    const plain = new RegionTargets({ bits: 4, byListed: true });
    plain.noteListed(idIn(0), DEPTH);
    expect(plain.openByQuarter(idIn(0), DEPTH)).toEqual([null, null, null, null]);
  });

  it('forgets the oldest region beyond its capacity', () => {
    const t = new RegionTargets({ bits: 4, byListed: true, capacity: 2 });
    for (const region of [1, 2, 3]) t.noteListed(idIn(0, 0, region), DEPTH);
    expect(t.size).toBe(2);
    expect(() => new RegionTargets({ bits: 5 })).toThrow(RangeError);
  });
});
