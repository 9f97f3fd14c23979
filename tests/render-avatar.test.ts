// The avatar render: deterministic (a retried upload must carry the same bytes under the same
// idempotency key), a 256×256 PNG, mirrored left to right like every identicon.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { renderAvatarPng } from '@/workers/jobs/avatar/render-avatar';

const SEED = 'f47ac10b-58cc-4372-a567-0e02b2c3d479';

describe('renderAvatarPng', () => {
  it('renders the same bytes for the same user, and other bytes for another', async () => {
    const [first, again, other] = await Promise.all([
      renderAvatarPng(SEED),
      renderAvatarPng(SEED),
      renderAvatarPng('0b8f2c1e-5f0a-4d4e-9a39-3f3b8f0d2a11'),
    ]);
    expect(first.equals(again)).toBe(true);
    expect(first.equals(other)).toBe(false);
  });

  it('is a 256×256 PNG, mirrored left to right, with a painted square and background', async () => {
    const image = sharp(await renderAvatarPng(SEED));
    expect(await image.metadata()).toMatchObject({ format: 'png', width: 256, height: 256 });
    const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
    const pixel = (x: number, y: number) => data.readUIntBE((y * info.width + x) * info.channels, 3);
    const colours = new Set<number>();
    for (let y = 0; y < info.height; y += 1) {
      for (let x = 0; x < info.width; x += 1) {
        expect(pixel(x, y)).toBe(pixel(info.width - 1 - x, y));
        colours.add(pixel(x, y));
      }
    }
    expect(colours.size).toBe(2);
  });
});
