// Text in the benchmark charts: how much room a label takes, how a long one is fitted, and where a
// label can go without covering another. SVG lays out no text of its own and a file has no fonts to
// measure, so widths are estimated per character (svg-chart.ts draws at FONT_SIZE).

export const FONT_SIZE = 12;
/** A character of a 12 px sans-serif font is 6–7 px wide on average; 7 errs on the side of room. */
export const CHAR_WIDTH = 7;
export const LINE_HEIGHT = 15;
/** Bold letters run about a tenth wider. */
const BOLD_WIDTH = 1.1;
/** Clear space kept around a placed label, so that it does not touch its neighbours. */
const LABEL_PADDING = 3;

export interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export type Anchor = 'start' | 'middle' | 'end';

/** A line of text to draw, its anchor at the baseline. */
export interface Label {
  text: string;
  x: number;
  y: number;
  anchor: Anchor;
  bold?: boolean;
}

export function textWidth(text: string, size = FONT_SIZE): number {
  return ([...text].length * CHAR_WIDTH * size) / FONT_SIZE;
}

/** What a line of text covers: from its ascenders to its descenders around the baseline. */
export function labelBox({ text, x, y, anchor, bold }: Label, size = FONT_SIZE): Box {
  const width = textWidth(text, size) * (bold ? BOLD_WIDTH : 1);
  const left = anchor === 'start' ? x : anchor === 'middle' ? x - width / 2 : x - width;
  return { left, right: left + width, top: y - size * 0.8, bottom: y + size * 0.25 };
}

/** The box of a line turned to read upwards, rotate(-90) around (x, y): where it starts, or ends. */
export function uprightBox(text: string, x: number, y: number, anchor: 'start' | 'end' = 'start', size = FONT_SIZE): Box {
  const start = anchor === 'start' ? y : y + textWidth(text, size);
  return { left: x - size * 0.8, right: x + size * 0.25, top: start - textWidth(text, size), bottom: start };
}

export function overlaps(a: Box, b: Box): boolean {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

function padded(box: Box): Box {
  return { left: box.left - LABEL_PADDING, right: box.right + LABEL_PADDING, top: box.top - LABEL_PADDING, bottom: box.bottom + LABEL_PADDING };
}

function overlapArea(a: Box, b: Box): number {
  const width = Math.min(a.right, b.right) - Math.max(a.left, b.left);
  const height = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
  return width > 0 && height > 0 ? width * height : 0;
}

/**
 * The first candidate that covers no text already placed and stays inside `bounds`, preferring one
 * that covers no drawn data either (bars, lines); undefined if every candidate covers text.
 */
export function placeLabel(candidates: Label[], { text, data, bounds }: { text: Box[]; data: Box[]; bounds: Box }): Label | undefined {
  const free = candidates.filter((candidate) => {
    const box = padded(labelBox(candidate));
    const inside = box.left >= bounds.left && box.right <= bounds.right && box.top >= bounds.top && box.bottom <= bounds.bottom;
    return inside && !text.some((taken) => overlaps(box, taken));
  });
  const covered = (candidate: Label) => data.reduce((sum, box) => sum + overlapArea(labelBox(candidate), box), 0);
  return free.find((candidate) => covered(candidate) === 0) ?? free.sort((a, b) => covered(a) - covered(b))[0];
}

/**
 * A label in at most two lines no wider than `width`, split at the space that balances them best;
 * shortened with an ellipsis when even two lines are too narrow.
 */
export function fitLines(text: string, width: number): string[] {
  if (textWidth(text) <= width) return [text];
  const words = text.split(' ');
  const widest = (lines: string[]) => Math.max(...lines.map((line) => textWidth(line)));
  let best: string[] | undefined;
  for (let at = 1; at < words.length; at += 1) {
    const lines = [words.slice(0, at).join(' '), words.slice(at).join(' ')];
    if (widest(lines) <= width && (!best || widest(lines) < widest(best))) best = lines;
  }
  return best ?? [shorten(text, width)];
}

/** The least width `fitLines` needs to show all of the label, in one line or two. */
export function twoLineWidth(text: string): number {
  const words = text.split(' ');
  let least = textWidth(text);
  for (let at = 1; at < words.length; at += 1) {
    least = Math.min(least, Math.max(textWidth(words.slice(0, at).join(' ')), textWidth(words.slice(at).join(' '))));
  }
  return least;
}

function shorten(text: string, width: number): string {
  const chars = [...text];
  const keep = Math.max(1, Math.floor(width / CHAR_WIDTH) - 1);
  return chars.length <= keep ? text : `${chars.slice(0, keep).join('').trimEnd()}…`;
}

export function escapeText(text: string): string {
  return text.replace(/[&<>"]/g, (char) => `&#${char.charCodeAt(0)};`);
}
