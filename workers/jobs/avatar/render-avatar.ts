// Renders a user's avatar: a 5×5 mirrored identicon derived from a hash of the user id, drawn as
// SVG and rasterised to a 256×256 PNG by sharp (libvips). Deterministic: the same user always gets
// the same bytes, so a retried upload carries an identical body under the same idempotency key.
import { createHash } from 'node:crypto';

const GRID = 5;
const SIZE = 256;
const CELL = SIZE / (GRID + 1);
const MARGIN = CELL / 2;

export function identiconSvg(seed: string): string {
  const hash = createHash('sha256').update(seed).digest();
  const hue = Math.round((hash.readUInt16BE(0) / 0xffff) * 360);
  const fill = `hsl(${hue} 55% 48%)`;
  const cells: string[] = [];
  for (let row = 0; row < GRID; row += 1) {
    for (let column = 0; column < Math.ceil(GRID / 2); column += 1) {
      const bit = hash[2 + row * 3 + column] ?? 0;
      if (bit % 2 === 0) continue;
      for (const x of new Set([column, GRID - 1 - column])) {
        cells.push(`<rect x="${MARGIN + x * CELL}" y="${MARGIN + row * CELL}" width="${CELL}" height="${CELL}"/>`);
      }
    }
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}" viewBox="0 0 ${SIZE} ${SIZE}">` +
    `<rect width="${SIZE}" height="${SIZE}" fill="hsl(${hue} 30% 94%)"/><g fill="${fill}">${cells.join('')}</g></svg>`
  );
}

export async function renderAvatarPng(seed: string): Promise<Buffer> {
  // Imported on first render, so libvips (10 MB of RSS measured) is loaded only where avatars are
  // rendered, the avatar sandbox and the synchronous baseline, and not in a worker process, which
  // reaches this module through the job definitions but hands every avatar to its sandbox.
  const { default: sharp } = await import('sharp');
  return sharp(Buffer.from(identiconSvg(seed))).png({ compressionLevel: 9 }).toBuffer();
}
