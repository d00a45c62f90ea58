import { promises as fs } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { THEME_COLOR } from './src/sw/manifest';

/**
 * Tocsin's icons, drawn at build time with no image library: a white alarm bell on the theme
 * colour, rasterised with 4×4 supersampling into an RGBA buffer and encoded as PNG here (zlib from
 * node, a CRC-32 of our own). The maskable icon fills the whole square and keeps the bell well
 * inside the safe zone (the centred circle of radius 40%), so any mask shape leaves it whole.
 */

export const ICON_BACKGROUND = THEME_COLOR;
const ICON_FOREGROUND = '#ffffff';

export interface IconEntry {
  src: string;
  sizes: string;
  type: string;
  purpose: 'any' | 'maskable';
}

type Rgb = [number, number, number];

const rgb = (hex: string): Rgb => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as Rgb;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO 3309, as PNG uses it). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** An 8-bit RGBA PNG of `rgba` (width × height × 4 bytes, rows top to bottom). */
export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  if (rgba.length !== width * height * 4) throw new Error('encodePng: the buffer is not width × height × 4');
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // colour type: RGBA
  // compression, filter and interlace methods stay 0
  const stride = width * 4;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0; // filter: none
    raw.set(rgba.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const circle = (x: number, y: number, cx: number, cy: number, r: number) =>
  (x - cx) ** 2 + (y - cy) ** 2 <= r * r;

/**
 * Whether a point is on the bell, in glyph units: the bell spans about -0.9 to 0.9 on both axes,
 * centred on (0, 0), y pointing down.
 */
export function onBell(x: number, y: number): boolean {
  const ax = Math.abs(x);
  if (circle(x, y, 0, -0.8, 0.1)) return true; // the crown
  if (y < -0.25 && circle(x, y, 0, -0.25, 0.5)) return true; // the shoulder
  if (y >= -0.25 && y <= 0.45) {
    const t = (y + 0.25) / 0.7; // the waist flares toward the lip
    if (ax <= 0.5 + 0.22 * t * t) return true;
  }
  if (y >= 0.45 && y <= 0.6) {
    // the lip: a bar with rounded ends
    if (ax <= 0.775) return true;
    if (circle(ax, y, 0.775, 0.525, 0.075)) return true;
  }
  return circle(x, y, 0, 0.74, 0.15); // the clapper
}

/** Whether a point is inside a square of side 1 centred on (0.5, 0.5) with corners of radius r. */
function inRoundedSquare(u: number, v: number, r: number): boolean {
  const dx = Math.max(r - u, 0, u - (1 - r));
  const dy = Math.max(r - v, 0, v - (1 - r));
  return dx * dx + dy * dy <= r * r;
}

/**
 * The icon as RGBA. `any`: a rounded square with transparent corners, the bell 54% of its height.
 * `maskable`: the colour to the edges, the bell 40% of its height, its farthest point within 24%
 * of the size from the centre: well inside the safe zone (the centred circle of radius 40%).
 */
export function drawIcon(size: number, purpose: 'any' | 'maskable'): Uint8Array {
  const [br, bg, bb] = rgb(ICON_BACKGROUND);
  const [fr, fg, fb] = rgb(ICON_FOREGROUND);
  const glyphHalf = purpose === 'maskable' ? 0.22 : 0.3; // half the bell's height, as a fraction of the size
  const out = new Uint8Array(size * size * 4);
  const n = 4; // samples per axis
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let cover = 0;
      let bell = 0;
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const u = (px + (sx + 0.5) / n) / size;
          const v = (py + (sy + 0.5) / n) / size;
          if (purpose === 'any' && !inRoundedSquare(u, v, 0.18)) continue;
          cover++;
          if (onBell((u - 0.5) / glyphHalf, (v - 0.5) / glyphHalf)) bell++;
        }
      }
      const i = (py * size + px) * 4;
      if (cover === 0) continue; // transparent
      const f = bell / cover;
      out[i] = Math.round(br + (fr - br) * f);
      out[i + 1] = Math.round(bg + (fg - bg) * f);
      out[i + 2] = Math.round(bb + (fb - bb) * f);
      out[i + 3] = Math.round((255 * cover) / (n * n));
    }
  }
  return out;
}

/** The same bell as an SVG favicon. */
export function faviconSvg(): string {
  const s = (n: number) => String(Math.round((0.5 + n * 0.3) * 1000) / 10); // glyph units to a 0-100 box
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">` +
    `<rect width="100" height="100" rx="18" fill="${ICON_BACKGROUND}"/>` +
    `<g fill="${ICON_FOREGROUND}">` +
    `<circle cx="50" cy="${s(-0.8)}" r="3"/>` +
    `<path d="M${s(-0.5)} ${s(-0.25)}A15 15 0 0 1 ${s(0.5)} ${s(-0.25)}` +
    `Q${s(0.5)} ${s(0.2)} ${s(0.72)} ${s(0.45)}H${s(-0.72)}Q${s(-0.5)} ${s(0.2)} ${s(-0.5)} ${s(-0.25)}Z"/>` +
    `<rect x="${s(-0.85)}" y="${s(0.45)}" width="${(1.7 * 30).toFixed(1)}" height="4.5" rx="2.25"/>` +
    `<circle cx="50" cy="${s(0.74)}" r="4.5"/>` +
    `</g></svg>\n`
  );
}

export const ICONS: IconEntry[] = [
  { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
  { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
  { src: '/icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
];

export const FAVICON = '/icons/icon.svg';

/** Writes the PNG icons and the SVG favicon under `distDir`; returns the manifest's icon list. */
export async function writeIcons(distDir: string): Promise<IconEntry[]> {
  await fs.mkdir(path.join(distDir, 'icons'), { recursive: true });
  for (const icon of ICONS) {
    const size = Number(icon.sizes.split('x')[0]);
    await fs.writeFile(path.join(distDir, icon.src), encodePng(size, size, drawIcon(size, icon.purpose)));
  }
  await fs.writeFile(path.join(distDir, FAVICON), faviconSvg());
  return ICONS;
}
