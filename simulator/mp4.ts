/**
 * A tiny H.264-in-MP4 writer with no encoder behind it: every macroblock that changes
 * from one frame to the next is stored raw (I_PCM), every other one is skipped (P_Skip).
 * Big per pixel, but it is valid Baseline-profile H.264 that browsers play, and our
 * frames are small, flat cards that change little. Needs only Buffer.
 */

/** One frame in YUV 4:2:0: width × height luma, and the two chroma planes at half size. */
export type YuvFrame = { y: Uint8Array; u: Uint8Array; v: Uint8Array };

class BitWriter {
  private readonly bytes: number[] = [];
  private current = 0;
  private count = 0;

  bit(value: number) {
    this.current = (this.current << 1) | (value & 1);
    if (++this.count === 8) {
      this.bytes.push(this.current);
      this.current = 0;
      this.count = 0;
    }
  }
  bits(value: number, length: number) {
    for (let i = length - 1; i >= 0; i--) this.bit(Math.floor(value / 2 ** i) % 2);
  }
  /** Unsigned Exp-Golomb. */
  ue(value: number) {
    const coded = value + 1;
    const length = 32 - Math.clz32(coded);
    this.bits(0, length - 1);
    this.bits(coded, length);
  }
  /** Signed Exp-Golomb. */
  se(value: number) {
    this.ue(value <= 0 ? -2 * value : 2 * value - 1);
  }
  alignWithZeros() {
    while (this.count !== 0) this.bit(0);
  }
  /** Whole bytes; the writer must be byte-aligned. */
  raw(data: Uint8Array) {
    for (const byte of data) this.bits(byte, 8);
  }
  /** rbsp_trailing_bits, then the bytes. */
  finish(): Uint8Array {
    this.bit(1);
    this.alignWithZeros();
    return Uint8Array.from(this.bytes);
  }
}

const PROFILE_BASELINE = 66;
const CONSTRAINTS = 0xc0; // constraint_set0 and set1: decodable by Baseline and Main decoders
const LEVEL_3_0 = 30;
const LOG2_MAX_FRAME_NUM = 4;

/** A NAL unit: header byte, then the payload with emulation-prevention bytes inserted. */
function nal(refIdc: number, type: number, rbsp: Uint8Array): Uint8Array {
  const out: number[] = [(refIdc << 5) | type];
  let zeros = 0;
  for (const byte of rbsp) {
    if (zeros >= 2 && byte <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(byte);
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return Uint8Array.from(out);
}

function sequenceParameterSet(widthMbs: number, heightMbs: number): Uint8Array {
  const w = new BitWriter();
  w.bits(PROFILE_BASELINE, 8);
  w.bits(CONSTRAINTS, 8);
  w.bits(LEVEL_3_0, 8);
  w.ue(0); // seq_parameter_set_id
  w.ue(LOG2_MAX_FRAME_NUM - 4);
  w.ue(2); // pic_order_cnt_type 2: output order = decoding order
  w.ue(1); // max_num_ref_frames
  w.bit(0); // gaps_in_frame_num_value_allowed_flag
  w.ue(widthMbs - 1);
  w.ue(heightMbs - 1);
  w.bit(1); // frame_mbs_only_flag
  w.bit(1); // direct_8x8_inference_flag
  w.bit(0); // frame_cropping_flag
  w.bit(0); // vui_parameters_present_flag
  return nal(3, 7, w.finish());
}

function pictureParameterSet(): Uint8Array {
  const w = new BitWriter();
  w.ue(0); // pic_parameter_set_id
  w.ue(0); // seq_parameter_set_id
  w.bit(0); // entropy_coding_mode_flag: CAVLC
  w.bit(0); // bottom_field_pic_order_in_frame_present_flag
  w.ue(0); // num_slice_groups_minus1
  w.ue(0); // num_ref_idx_l0_default_active_minus1
  w.ue(0); // num_ref_idx_l1_default_active_minus1
  w.bit(0); // weighted_pred_flag
  w.bits(0, 2); // weighted_bipred_idc
  w.se(0); // pic_init_qp_minus26
  w.se(0); // pic_init_qs_minus26
  w.se(0); // chroma_qp_index_offset
  w.bit(1); // deblocking_filter_control_present_flag
  w.bit(0); // constrained_intra_pred_flag
  w.bit(0); // redundant_pic_cnt_present_flag
  return nal(3, 8, w.finish());
}

/**
 * One frame as one slice: the first an IDR picture of I_PCM macroblocks, the others P
 * pictures where changed macroblocks are I_PCM and the rest P_Skip.
 */
function slice(
  frame: YuvFrame,
  previous: YuvFrame | null,
  index: number,
  width: number,
  height: number,
): Uint8Array {
  const widthMbs = width / 16;
  const totalMbs = widthMbs * (height / 16);
  const idr = previous === null;
  const w = new BitWriter();
  w.ue(0); // first_mb_in_slice
  w.ue(idr ? 7 : 5); // slice_type: I or P, same type for the whole picture
  w.ue(0); // pic_parameter_set_id
  w.bits(index % 2 ** LOG2_MAX_FRAME_NUM, LOG2_MAX_FRAME_NUM); // frame_num
  if (idr) w.ue(0); // idr_pic_id
  if (!idr) {
    w.bit(0); // num_ref_idx_active_override_flag
    w.bit(0); // ref_pic_list_modification_flag_l0
  }
  if (idr) {
    w.bit(0); // no_output_of_prior_pics_flag
    w.bit(0); // long_term_reference_flag
  } else {
    w.bit(0); // adaptive_ref_pic_marking_mode_flag
  }
  w.se(0); // slice_qp_delta
  w.ue(1); // disable_deblocking_filter_idc: keep the raw samples exact

  let skipped = 0;
  for (let mb = 0; mb < totalMbs; mb++) {
    const mbX = mb % widthMbs;
    const mbY = Math.floor(mb / widthMbs);
    if (previous && !macroblockChanged(frame, previous, mbX, mbY, width)) {
      skipped++;
      continue;
    }
    if (!idr) {
      w.ue(skipped); // mb_skip_run
      skipped = 0;
    }
    w.ue(idr ? 25 : 30); // mb_type I_PCM (I slice: 25; P slice: 5 + 25)
    w.alignWithZeros(); // pcm_alignment_zero_bit
    w.raw(macroblockSamples(frame, mbX, mbY, width));
  }
  if (skipped > 0) w.ue(skipped);
  return nal(idr ? 3 : 2, idr ? 5 : 1, w.finish());
}

function macroblockChanged(
  a: YuvFrame,
  b: YuvFrame,
  mbX: number,
  mbY: number,
  width: number,
): boolean {
  for (let row = 0; row < 16; row++) {
    const start = (mbY * 16 + row) * width + mbX * 16;
    for (let i = start; i < start + 16; i++) if (a.y[i] !== b.y[i]) return true;
  }
  const half = width / 2;
  for (let row = 0; row < 8; row++) {
    const start = (mbY * 8 + row) * half + mbX * 8;
    for (let i = start; i < start + 8; i++) if (a.u[i] !== b.u[i] || a.v[i] !== b.v[i]) return true;
  }
  return false;
}

/** 256 luma, 64 Cb and 64 Cr samples in raster order; never 0 (early decoders reject it). */
function macroblockSamples(frame: YuvFrame, mbX: number, mbY: number, width: number): Uint8Array {
  const out = new Uint8Array(384);
  let o = 0;
  for (let row = 0; row < 16; row++) {
    const start = (mbY * 16 + row) * width + mbX * 16;
    for (let i = start; i < start + 16; i++) out[o++] = Math.max(1, frame.y[i]!);
  }
  const half = width / 2;
  for (const plane of [frame.u, frame.v]) {
    for (let row = 0; row < 8; row++) {
      const start = (mbY * 8 + row) * half + mbX * 8;
      for (let i = start; i < start + 8; i++) out[o++] = Math.max(1, plane[i]!);
    }
  }
  return out;
}

// ---- MP4 (ISO BMFF) boxes ----

function box(type: string, ...parts: Uint8Array[]): Uint8Array {
  const size = 8 + parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, size);
  out.set(Buffer.from(type, "latin1"), 4);
  let offset = 8;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Big-endian integers of the given byte widths. */
function ints(...fields: [value: number, bytes: 1 | 2 | 4][]): Uint8Array {
  const out = new Uint8Array(fields.reduce((n, [, b]) => n + b, 0));
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const [value, bytes] of fields) {
    if (bytes === 1) view.setUint8(offset, value);
    else if (bytes === 2) view.setUint16(offset, value);
    else view.setUint32(offset, value >>> 0);
    offset += bytes;
  }
  return out;
}

const fullBox = (type: string, version: number, flags: number, ...parts: Uint8Array[]) =>
  box(type, ints([(version << 24) | flags, 4]), ...parts);

const IDENTITY_MATRIX = ints(
  [0x10000, 4],
  [0, 4],
  [0, 4],
  [0, 4],
  [0x10000, 4],
  [0, 4],
  [0, 4],
  [0, 4],
  [0x40000000, 4],
);

/** MP4 bytes of the frames, each shown for `frameMs`; width and height multiples of 16. */
export function encodeMp4(
  frames: YuvFrame[],
  width: number,
  height: number,
  frameMs: number,
): Uint8Array<ArrayBuffer> {
  if (width % 16 !== 0 || height % 16 !== 0 || frames.length === 0)
    throw new Error("invalid clip geometry");
  const sps = sequenceParameterSet(width / 16, height / 16);
  const pps = pictureParameterSet();
  const samples = frames.map((frame, i) => {
    const unit = slice(frame, i === 0 ? null : frames[i - 1]!, i, width, height);
    return Buffer.concat([ints([unit.length, 4]), unit]); // AVCC: 4-byte length prefix
  });
  const duration = frames.length * frameMs;

  const avcC = box(
    "avcC",
    ints(
      [1, 1],
      [PROFILE_BASELINE, 1],
      [CONSTRAINTS, 1],
      [LEVEL_3_0, 1],
      [0xff, 1],
      [0xe1, 1],
      [sps.length, 2],
    ),
    sps,
    ints([1, 1], [pps.length, 2]),
    pps,
  );
  const avc1 = box(
    "avc1",
    ints([0, 4], [0, 2], [1, 2]), // reserved, data_reference_index
    ints([0, 2], [0, 2], [0, 4], [0, 4], [0, 4]), // pre_defined, reserved
    ints([width, 2], [height, 2], [0x480000, 4], [0x480000, 4], [0, 4], [1, 2]),
    new Uint8Array(32), // compressorname
    ints([0x18, 2], [0xffff, 2]), // depth, pre_defined = -1
    avcC,
  );
  const stbl = (chunkOffset: number) =>
    box(
      "stbl",
      fullBox("stsd", 0, 0, ints([1, 4]), avc1),
      fullBox("stts", 0, 0, ints([1, 4], [frames.length, 4], [frameMs, 4])),
      fullBox("stss", 0, 0, ints([1, 4], [1, 4])),
      fullBox("stsc", 0, 0, ints([1, 4], [1, 4], [frames.length, 4], [1, 4])),
      fullBox(
        "stsz",
        0,
        0,
        ints([0, 4], [frames.length, 4]),
        ...samples.map((s) => ints([s.length, 4])),
      ),
      fullBox("stco", 0, 0, ints([1, 4], [chunkOffset, 4])),
    );
  const moov = (chunkOffset: number) =>
    box(
      "moov",
      fullBox(
        "mvhd",
        0,
        0,
        ints(
          [0, 4],
          [0, 4],
          [1000, 4],
          [duration, 4],
          [0x10000, 4],
          [0x100, 2],
          [0, 2],
          [0, 4],
          [0, 4],
        ),
        IDENTITY_MATRIX,
        new Uint8Array(24),
        ints([2, 4]),
      ),
      box(
        "trak",
        fullBox(
          "tkhd",
          0,
          3,
          ints(
            [0, 4],
            [0, 4],
            [1, 4],
            [0, 4],
            [duration, 4],
            [0, 4],
            [0, 4],
            [0, 2],
            [0, 2],
            [0, 2],
            [0, 2],
          ),
          IDENTITY_MATRIX,
          ints([width * 0x10000, 4], [height * 0x10000, 4]),
        ),
        box(
          "mdia",
          fullBox(
            "mdhd",
            0,
            0,
            ints([0, 4], [0, 4], [1000, 4], [duration, 4], [0x55c4, 2], [0, 2]),
          ),
          fullBox(
            "hdlr",
            0,
            0,
            ints([0, 4]),
            Buffer.from("vide", "latin1"),
            new Uint8Array(12),
            Buffer.from("Framechain\0", "latin1"),
          ),
          box(
            "minf",
            fullBox("vmhd", 0, 1, ints([0, 2], [0, 2], [0, 2], [0, 2])),
            box("dinf", fullBox("dref", 0, 0, ints([1, 4]), fullBox("url ", 0, 1))),
            stbl(chunkOffset),
          ),
        ),
      ),
    );
  const ftyp = box(
    "ftyp",
    Buffer.from("isom", "latin1"),
    ints([0x200, 4]),
    Buffer.from("isomiso2avc1mp41", "latin1"),
  );
  // moov first (playback starts before the whole file is in); its size does not depend on the offset.
  const moovSize = moov(0).length;
  const mdat = box("mdat", ...samples);
  return new Uint8Array(Buffer.concat([ftyp, moov(ftyp.length + moovSize + 8), mdat]));
}
