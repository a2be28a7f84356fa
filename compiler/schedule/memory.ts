// Work-array planning: values that live in `work` get a slot range reused by liveness
// (first fit over a free list, linear scan in schedule order).
import type { Node } from '../ir/node.ts';
import { stepReads, viewBase, type Schedule } from './schedule.ts';
import { anchored } from '../backends/js/split.ts';

interface Range {
  start: number;
  len: number;
}

class FreeList {
  private free: Range[] = [];
  end = 0;

  alloc(len: number): number {
    for (let i = 0; i < this.free.length; i++) {
      const r = this.free[i]!;
      if (r.len >= len) {
        const at = r.start;
        r.start += len;
        r.len -= len;
        if (r.len === 0) this.free.splice(i, 1);
        return at;
      }
    }
    const at = this.end;
    this.end += len;
    return at;
  }

  release(start: number, len: number): void {
    this.free.push({ start, len });
    this.free.sort((a, b) => a.start - b.start);
    const merged: Range[] = [];
    for (const r of this.free) {
      const last = merged[merged.length - 1];
      if (last && last.start + last.len === r.start) last.len += r.len;
      else merged.push({ ...r });
    }
    this.free = merged;
  }
}

/** Assigns work offsets in place and returns the number of work elements needed. */
export function planMemory(s: Schedule): number {
  const lastUse = new Map<Node, number>();
  s.steps.forEach((step, i) => {
    for (const a of stepReads(step)) lastUse.set(viewBase(a), i);
  });
  // Outputs are read at the very end (copies, the returned loss).
  for (const o of s.program.outputs) lastUse.set(viewBase(o.node), Infinity);
  const dying = new Map<number, Node[]>();
  for (const [n, i] of lastUse) {
    if (Number.isFinite(i)) {
      const list = dying.get(i) ?? [];
      list.push(n);
      dying.set(i, list);
    }
  }
  const heap = new FreeList();
  s.steps.forEach((step, i) => {
    // Allocate before releasing this step's dead arguments, so a result never overlaps
    // what it reads.
    if (step.storage.kind === 'work') step.storage.offset = heap.alloc(step.node.size);
    for (const n of dying.get(i) ?? []) {
      const st = s.byNode.get(n)?.storage;
      if (st?.kind === 'work') heap.release(st.offset, n.size);
    }
  });
  // The anchor slot is written all along, never read: past every other slot (a freed range
  // would hold some value while anchors are written).
  s.anchorSlot = s.steps.some((st) => anchored(st.node, st.mode, st.storage.kind === 'local'))
    ? heap.end++
    : null;
  s.workSize = heap.end;
  return heap.end;
}
