/**
 * Bounds the deliveries a process has handed out (jobs claimed in the write, see
 * lib/pipeline/store.ts `JobHandOff`) and not finished yet. The count lives in shared
 * memory, so the web thread that reserves and the dispatch thread that releases keep one
 * count: past the bound, new jobs are queued and claimed by the dispatch loops instead, and
 * a backlog never waits in memory long enough for its leases to run out.
 */
export class DeliveryGate {
  readonly shared: SharedArrayBuffer;
  private readonly count: Int32Array;

  constructor(
    readonly limit: number,
    shared = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT),
  ) {
    this.shared = shared;
    this.count = new Int32Array(shared);
  }

  reserve(n: number): boolean {
    if (Atomics.add(this.count, 0, n) + n <= this.limit) return true;
    Atomics.sub(this.count, 0, n);
    return false;
  }

  release(n: number) {
    Atomics.sub(this.count, 0, n);
  }

  get outstanding(): number {
    return Atomics.load(this.count, 0);
  }
}
