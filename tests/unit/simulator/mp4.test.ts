import { describe, expect, it } from "vitest";
import { CLIP, renderClip } from "@/simulator/clip";
import { GLYPH_HEIGHT, GLYPH_WIDTH, glyphPixel, hasGlyph } from "@/simulator/font";
import { byteRange } from "@/simulator/router";

/** Reads the file back with an independent box walker and Exp-Golomb reader. */
type Box = { type: string; start: number; size: number };

function boxes(data: Uint8Array, start = 0, end = data.length): Box[] {
  const view = new DataView(data.buffer, data.byteOffset);
  const out: Box[] = [];
  for (let at = start; at < end; ) {
    const size = view.getUint32(at);
    out.push({ type: new TextDecoder().decode(data.subarray(at + 4, at + 8)), start: at, size });
    at += size;
  }
  return out;
}

function find(data: Uint8Array, path: string[]): Box {
  let found: Box | undefined;
  let [start, end] = [0, data.length];
  for (const type of path) {
    found = boxes(data, start, end).find((b) => b.type === type);
    if (!found) throw new Error(`no ${type} box`);
    [start, end] = [found.start + 8, found.start + found.size];
  }
  return found!;
}

class BitReader {
  private at = 0;
  constructor(private readonly bytes: Uint8Array) {}
  bit(): number {
    const value = (this.bytes[this.at >> 3]! >> (7 - (this.at & 7))) & 1;
    this.at++;
    return value;
  }
  bits(n: number): number {
    let value = 0;
    for (let i = 0; i < n; i++) value = value * 2 + this.bit();
    return value;
  }
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) zeros++;
    return 2 ** zeros - 1 + this.bits(zeros);
  }
}

/** NAL payload without its header byte and emulation-prevention bytes. */
function rbsp(nal: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 1; i < nal.length; i++) {
    if (nal[i] === 3 && nal[i - 1] === 0 && nal[i - 2] === 0 && i >= 3) continue;
    out.push(nal[i]!);
  }
  return Uint8Array.from(out);
}

const u32 = (data: Uint8Array, at: number) =>
  new DataView(data.buffer, data.byteOffset).getUint32(at);

describe("simulated video clips", () => {
  const scenes = [
    { hue: 10, title: "Scene 1", lines: ["A LIGHTHOUSE"], seconds: 2 },
    { hue: 150, title: "Scene 2", lines: ["THE SEA"], seconds: 3 },
  ];
  const clip = renderClip(scenes);
  const frames = (2 + 3) * CLIP.fps;

  it("is an MP4 with ftyp, moov before mdat, and the scenes' total duration", () => {
    expect(boxes(clip).map((b) => b.type)).toEqual(["ftyp", "moov", "mdat"]);
    const mvhd = find(clip, ["moov", "mvhd"]);
    expect(u32(clip, mvhd.start + 20)).toBe(1000); // timescale
    expect(u32(clip, mvhd.start + 24)).toBe(5000); // duration in ms
  });

  it("indexes one sample per frame inside mdat", () => {
    const stsz = find(clip, ["moov", "trak", "mdia", "minf", "stbl", "stsz"]);
    expect(u32(clip, stsz.start + 16)).toBe(frames);
    const sizes = Array.from({ length: frames }, (_, i) => u32(clip, stsz.start + 20 + i * 4));
    const stco = find(clip, ["moov", "trak", "mdia", "minf", "stbl", "stco"]);
    const mdat = find(clip, ["mdat"]);
    expect(u32(clip, stco.start + 16)).toBe(mdat.start + 8);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(mdat.size - 8);

    // Each sample is one length-prefixed NAL: an IDR slice first, then non-IDR slices.
    let at = mdat.start + 8;
    const types = sizes.map((size) => {
      expect(u32(clip, at)).toBe(size - 4);
      const type = clip[at + 4]! & 0x1f;
      at += size;
      return type;
    });
    expect(types[0]).toBe(5);
    expect(types.slice(1).every((t) => t === 1)).toBe(true);
    // A frame costs only what changed; the scene change is stored anew.
    expect(sizes[1]!).toBeLessThan(4 * 400); // the few macroblocks under the growing bar
    expect(sizes[2 * CLIP.fps]!).toBeGreaterThan(sizes[0]! / 2);
  });

  it("declares Baseline H.264 of the clip's size in avcC and the sample entry", () => {
    const avc1 = find(clip, ["moov", "trak", "mdia", "minf", "stbl", "stsd"]);
    const entry = avc1.start + 16; // after the stsd header and entry count
    expect(new TextDecoder().decode(clip.subarray(entry + 4, entry + 8))).toBe("avc1");
    const view = new DataView(clip.buffer, clip.byteOffset);
    expect(view.getUint16(entry + 32)).toBe(CLIP.width);
    expect(view.getUint16(entry + 34)).toBe(CLIP.height);

    const avcC = boxes(clip, entry + 86, entry + u32(clip, entry)).find((b) => b.type === "avcC")!;
    const c = avcC.start + 8;
    expect([clip[c], clip[c + 1], clip[c + 3]]).toEqual([1, 66, 30]);
    const spsLength = view.getUint16(c + 6);
    const sps = new BitReader(rbsp(clip.subarray(c + 8, c + 8 + spsLength)));
    expect(sps.bits(8)).toBe(66); // profile_idc
    sps.bits(16); // constraints, level
    expect(sps.ue()).toBe(0); // sps id
    const log2MaxFrameNum = sps.ue() + 4;
    expect(sps.ue()).toBe(2); // pic_order_cnt_type
    sps.ue(); // max_num_ref_frames
    sps.bit(); // gaps
    expect((sps.ue() + 1) * 16).toBe(CLIP.width);
    expect((sps.ue() + 1) * 16).toBe(CLIP.height);
    expect(log2MaxFrameNum).toBe(4);
  });

  it("codes an unchanged frame as one skip run over every macroblock", () => {
    const still = renderClip([{ hue: 0, title: "", lines: [], seconds: 0.5 }]); // two frames; only the bar moves
    const stsz = find(still, ["moov", "trak", "mdia", "minf", "stbl", "stsz"]);
    const mdat = find(still, ["mdat"]);
    const second = mdat.start + 8 + u32(still, stsz.start + 20);
    const slice = new BitReader(rbsp(still.subarray(second + 4, second + 4 + u32(still, second))));
    expect(slice.ue()).toBe(0); // first_mb_in_slice
    expect(slice.ue()).toBe(5); // P slice
    slice.ue(); // pps id
    expect(slice.bits(4)).toBe(1); // frame_num
    slice.bits(3); // override, list modification, ref pic marking flags
    slice.ue(); // slice_qp_delta (se 0 = ue 0)
    expect(slice.ue()).toBe(1); // deblocking off
    const mbs = (CLIP.width / 16) * (CLIP.height / 16);
    const skipped = slice.ue();
    // Only the macroblocks under the growing bar change between the two frames.
    expect(skipped).toBeGreaterThan(mbs / 2);
    expect(skipped).toBeLessThan(mbs);
  });
});

describe("font", () => {
  it("draws every glyph inside its 5×7 box and leaves unknown characters blank", () => {
    for (const char of "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,-'!?:&/()…·") {
      expect(hasGlyph(char)).toBe(true);
      let set = 0;
      for (let y = 0; y < GLYPH_HEIGHT; y++)
        for (let x = 0; x < GLYPH_WIDTH; x++) if (glyphPixel(char, x, y)) set++;
      expect(set, char).toBeGreaterThan(0);
    }
    expect(glyphPixel("a", 1, 0)).toBe(glyphPixel("A", 1, 0));
    expect(hasGlyph("é")).toBe(false);
    expect(glyphPixel("é", 2, 3)).toBe(false);
  });
});

describe("byte ranges", () => {
  it.each([
    ["bytes=0-99", [0, 99]],
    ["bytes=100-", [100, 999]],
    ["bytes=-10", [990, 999]],
    ["bytes=900-5000", [900, 999]],
    ["bytes=1000-", "unsatisfiable"],
    ["bytes=50-10", "unsatisfiable"],
    ["bytes=0-1,5-6", null],
    ["items=0-1", null],
    [null, null],
  ] as const)("%s of 1000 bytes → %j", (header, expected) => {
    expect(byteRange(header, 1000)).toEqual(expected);
  });
});
