import { appUrl } from "@/lib/services/app-url";
import { findTask, type SimTask } from "./state";

/**
 * Media the simulated services "produce": small SVG cards served from
 * `/api/simulator/media/<task id>/<kind>.svg`. There is no video encoder here, so a
 * "video" is an SVG card too (with a moving progress bar), served as image/svg+xml.
 */
export const MEDIA_KINDS = ["video", "thumbnail", "last-frame", "final", "poster"] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];

export function mediaUrl(taskId: string, kind: MediaKind): string {
  return `${appUrl()}/api/simulator/media/${encodeURIComponent(taskId)}/${kind}.svg`;
}

/** The task a simulator media URL belongs to, when the URL is one of ours. */
export function taskOfMediaUrl(url: string): SimTask | undefined {
  const match = /\/api\/simulator\/media\/([^/]+)\/[a-z-]+\.svg$/.exec(new URL(url).pathname);
  return match ? findTask(decodeURIComponent(match[1]!)) : undefined;
}

const WIDTH = 640;
const HEIGHT = 360;

/** Text as XML character data: escaped, and without the control characters XML forbids. */
export function xmlEscape(text: string): string {
  return (
    text
      // biome-ignore lint/suspicious/noControlCharactersInRegex: removing the characters XML 1.0 forbids is the point
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "")
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&apos;")
  );
}

/** A distinct hue per scene number (golden-angle steps around the colour wheel). */
export function sceneHue(sceneNumber: number): number {
  return Math.round((sceneNumber * 137.508 + 200) % 360);
}

/** Up to `maxLines` lines of about `width` characters, the last one cut with an ellipsis. */
export function wrapText(text: string, width = 44, maxLines = 4): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.replace(/\s+/g, " ").trim().split(" ")) {
    const piece = word.length > width ? `${word.slice(0, width - 1)}…` : word;
    if (line && line.length + 1 + piece.length > width) {
      lines.push(line);
      line = piece;
    } else line = line ? `${line} ${piece}` : piece;
  }
  if (line) lines.push(line);
  if (lines.length <= maxLines) return lines;
  const kept = lines.slice(0, maxLines);
  kept[maxLines - 1] = `${kept[maxLines - 1]!.slice(0, width - 1)}…`;
  return kept;
}

type Card = {
  hue: number;
  title: string;
  label: string;
  body: string[];
  strip?: number[];
  animated?: boolean;
};

function renderCard(card: Card): string {
  const text = (x: number, y: number, size: number, content: string, extra = "") =>
    `<text x="${x}" y="${y}" font-size="${size}" ${extra}>${xmlEscape(content)}</text>`;
  const body = card.body.map((line, i) => text(32, 150 + i * 30, 22, line)).join("");
  const strip = (card.strip ?? [])
    .map((hue, i, all) => {
      const w = (WIDTH - 64) / all.length;
      return `<rect x="${(32 + i * w).toFixed(1)}" y="290" width="${(w - 4).toFixed(1)}" height="24" rx="4" fill="hsl(${hue} 70% 55%)"/>`;
    })
    .join("");
  const bar = card.animated
    ? `<rect x="0" y="${HEIGHT - 8}" width="0" height="8" fill="#fff" opacity="0.8"><animate attributeName="width" from="0" to="${WIDTH}" dur="5s" repeatCount="indefinite"/></rect>`
    : "";
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, sans-serif">`,
    `<defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="hsl(${card.hue} 65% 38%)"/><stop offset="1" stop-color="hsl(${(card.hue + 40) % 360} 70% 22%)"/></linearGradient></defs>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="url(#bg)"/>`,
    `<g fill="#fff">`,
    text(32, 64, 40, card.title, 'font-weight="700"'),
    text(32, 100, 18, card.label, 'opacity="0.8"'),
    body,
    `</g>`,
    strip,
    bar,
    `</svg>`,
  ].join("");
}

const LABELS: Record<MediaKind, string> = {
  video: "simulated video",
  thumbnail: "thumbnail",
  "last-frame": "last frame",
  final: "final video (simulated)",
  poster: "final video poster",
};

/** The SVG for a media URL; an unknown task (e.g. after a restart) still gets a neutral card. */
export function renderMedia(taskId: string, kind: MediaKind): { svg: string; known: boolean } {
  const task = findTask(taskId);
  if (!task) {
    return {
      svg: renderCard({
        hue: 220,
        title: "Framechain",
        label: LABELS[kind],
        body: wrapText(`task ${taskId}`),
      }),
      known: false,
    };
  }
  if (task.service === "stitch") {
    const scenes = task.videoUrls.map((url) => sourceVideo(url));
    return {
      svg: renderCard({
        hue: 260,
        title: `Final video · ${task.videoUrls.length} scene${task.videoUrls.length === 1 ? "" : "s"}`,
        label: LABELS[kind],
        body: sceneList(
          scenes.map((s, i) => `${s?.sceneNumber ?? i + 1}. ${s?.prompt ?? "external video"}`),
        ),
        strip: scenes.map((s, i) => sceneHue(s?.sceneNumber ?? i + 1)),
        animated: kind === "final",
      }),
      known: true,
    };
  }
  // A last frame shows the scene of the video it was taken from.
  const scene = task.service === "last-frame" ? sourceVideo(task.videoUrls[0]) : task;
  const number = scene?.sceneNumber ?? null;
  return {
    svg: renderCard({
      hue: sceneHue(number ?? 0),
      title: number ? `Scene ${number}` : "Scene",
      label: LABELS[kind],
      body: wrapText(scene?.prompt ?? "from an external video"),
      animated: kind === "video",
    }),
    known: true,
  };
}

/** One line per scene (cut to fit), at most four, the last saying how many more there are. */
function sceneList(lines: string[]): string[] {
  const cut = (line: string) => wrapText(line, 44, 1)[0] ?? "";
  if (lines.length <= 4) return lines.map(cut);
  return [...lines.slice(0, 3).map(cut), `… and ${lines.length - 3} more`];
}

function sourceVideo(url: string | undefined): SimTask | undefined {
  if (!url) return undefined;
  try {
    const task = taskOfMediaUrl(url);
    return task?.service === "video" ? task : undefined;
  } catch {
    return undefined;
  }
}
