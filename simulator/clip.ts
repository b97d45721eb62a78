import { GLYPH_HEIGHT, GLYPH_WIDTH, glyphPixel } from "./font";
import { encodeMp4, type YuvFrame } from "./mp4";

/**
 * The "videos" of the simulated services: real, playable MP4 clips of the scene's card
 * (its colour, number and prompt) with a bar that fills as the clip plays. A stitched
 * video plays each scene's card in turn for that scene's duration.
 */
export const CLIP = { width: 256, height: 144, fps: 4, maxSeconds: 600 } as const;

export type ClipScene = { hue: number; title: string; lines: string[]; seconds: number };

type Rgb = [number, number, number];

export function renderClip(scenes: ClipScene[]): Uint8Array<ArrayBuffer> {
  const perScene = scenes.map((s) =>
    Math.max(1, Math.round(Math.min(s.seconds, CLIP.maxSeconds) * CLIP.fps)),
  );
  const total = perScene.reduce((a, b) => a + b, 0);
  const frames: YuvFrame[] = [];
  scenes.forEach((scene, i) => {
    const base = drawCard(scene);
    for (let f = 0; f < perScene[i]!; f++) {
      const image = base.slice();
      const shown = frames.length + 1;
      fillRect(
        image,
        0,
        CLIP.height - 16,
        Math.round((CLIP.width * shown) / total),
        6,
        [255, 255, 255],
      );
      frames.push(toYuv(image));
    }
  });
  return encodeMp4(frames, CLIP.width, CLIP.height, 1000 / CLIP.fps);
}

function drawCard(scene: ClipScene): Uint8Array {
  const { width, height } = CLIP;
  const image = new Uint8Array(width * height * 3);
  const from = hslToRgb(scene.hue, 0.65, 0.38);
  const to = hslToRgb((scene.hue + 40) % 360, 0.7, 0.22);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = (x / width + y / height) / 2;
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) image[o + c] = Math.round(from[c]! + (to[c]! - from[c]!) * t);
    }
  }
  drawText(image, scene.title, 12, 12, 3);
  scene.lines.slice(0, 4).forEach((line, i) => {
    drawText(image, line, 12, 48 + i * 18, 2);
  });
  return image;
}

/** Characters per line of prompt text on a clip frame. */
export const CLIP_LINE_CHARS = Math.floor((CLIP.width - 24) / ((GLYPH_WIDTH + 1) * 2));

function drawText(image: Uint8Array, text: string, left: number, top: number, scale: number) {
  [...text].forEach((char, i) => {
    const x0 = left + i * (GLYPH_WIDTH + 1) * scale;
    for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if (glyphPixel(char, gx, gy))
          fillRect(image, x0 + gx * scale, top + gy * scale, scale, scale, [255, 255, 255]);
      }
    }
  });
}

function fillRect(image: Uint8Array, x: number, y: number, w: number, h: number, rgb: Rgb) {
  for (let yy = Math.max(0, y); yy < Math.min(CLIP.height, y + h); yy++) {
    for (let xx = Math.max(0, x); xx < Math.min(CLIP.width, x + w); xx++)
      image.set(rgb, (yy * CLIP.width + xx) * 3);
  }
}

/** BT.601 studio-range YUV 4:2:0, chroma averaged over each 2×2 block. */
function toYuv(image: Uint8Array): YuvFrame {
  const { width, height } = CLIP;
  const y = new Uint8Array(width * height);
  const u = new Uint8Array((width / 2) * (height / 2));
  const v = new Uint8Array((width / 2) * (height / 2));
  for (let i = 0; i < width * height; i++) {
    const [r, g, b] = [image[i * 3]!, image[i * 3 + 1]!, image[i * 3 + 2]!];
    y[i] = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16;
  }
  for (let cy = 0; cy < height / 2; cy++) {
    for (let cx = 0; cx < width / 2; cx++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (const [dx, dy] of [
        [0, 0],
        [1, 0],
        [0, 1],
        [1, 1],
      ] as const) {
        const o = ((cy * 2 + dy) * width + cx * 2 + dx) * 3;
        r += image[o]!;
        g += image[o + 1]!;
        b += image[o + 2]!;
      }
      [r, g, b] = [r / 4, g / 4, b / 4];
      u[cy * (width / 2) + cx] = Math.round((-38 * r - 74 * g + 112 * b) / 256 + 128);
      v[cy * (width / 2) + cx] = Math.round((112 * r - 94 * g - 18 * b) / 256 + 128);
    }
  }
  return { y, u, v };
}

export function hslToRgb(hue: number, saturation: number, lightness: number): Rgb {
  const a = saturation * Math.min(lightness, 1 - lightness);
  const channel = (n: number) => {
    const k = (n + hue / 30) % 12;
    return Math.round(255 * (lightness - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [channel(0), channel(8), channel(4)];
}
