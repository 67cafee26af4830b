/**
 * Extracts every example frame printed in the WHITE-beet user manual (rev 2.14, text export)
 * into test/fixtures/manual-examples.json, for test/codec/manual-examples.test.ts.
 *
 *   npx tsx scripts/extract-manual-examples.ts [manual.txt] [out.json]
 *
 * A frame starts on a line beginning "C0 " (outside another frame) and continues over the
 * following hex lines until a line ending in "C1" that closes it (see `closes`). Comments in
 * parentheses (possibly wrapped over lines), blank lines and page footers are skipped. Text
 * that is neither hex nor comment (ASCII written out, "...", quoted strings) is kept in `notes`:
 * such frames cannot be rebuilt byte for byte.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ManualExample {
  /** Running number, stable as long as the manual text is. */
  id: number;
  /** Line of the "C0 ..." start in the text export (1-based). */
  line: number;
  /** Numbered section the example lies in, e.g. "15.4.1". */
  section: string;
  /** That section's title, e.g. "Set Mode". */
  title: string;
  /** The caption line above the frame ("Response:", "Set the mode of the CP-Service:"). */
  caption: string;
  /** Guessed from the caption and the request ID 0xFF. */
  direction: 'request' | 'response' | 'status';
  /** The frame bytes as printed, upper-case hex with spaces. */
  hex: string;
  /** Printed content that is not hex (ellipses, ASCII text); empty for complete frames. */
  notes: string[];
}

const here = dirname(fileURLToPath(import.meta.url));
// The manual is not in the repository (licence): pass its path, or keep the team's checkout layout.
const MANUAL = process.argv[2] ?? resolve(here, '../../shared/reference/whitebeet-user-manual-rev2.14.txt');
const OUT = resolve(here, '../test/fixtures/manual-examples.json');

const HEADING = /^(\d{1,2}(?:\.\d{1,2}){1,3})\s+([A-Z][A-Za-z].*?)\s*$/;
/** Page furniture: the footer line and the running head (often after a form feed). */
const isFooter = (l: string): boolean => /^\s*Revision No\.: 2\.14\b.*Page/.test(l) || /^[\s\f]*White Beet - User Manual\s*$/.test(l);
const HEX = /^[0-9A-Fa-f]{2}$/;

/** Removes parenthesised comments; `open` carries an unclosed "(" over to the next line. */
function stripComments(line: string, open: boolean): { text: string; open: boolean } {
  let text = '';
  let depth = open ? 1 : 0;
  for (const ch of line) {
    if (ch === '(') depth++;
    else if (ch === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0) text += ch;
  }
  return { text, open: depth > 0 };
}

/** Splits a frame line into its leading hex bytes and whatever non-hex text follows. */
function hexTokens(text: string): { bytes: string[]; rest: string } {
  const words = text
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  const bytes: string[] = [];
  let i = 0;
  for (; i < words.length && HEX.test(words[i] as string); i++) bytes.push((words[i] as string).toUpperCase());
  return { bytes, rest: words.slice(i).join(' ') };
}

function guessDirection(caption: string, bytes: string[]): ManualExample['direction'] {
  if (/^response/i.test(caption)) return 'response';
  if (/status message/i.test(caption)) return 'status';
  const subId = parseInt(bytes[2] ?? '0', 16);
  const reqId = parseInt(bytes[3] ?? '0', 16);
  // V2G EV commands live at 0xA0-0xBF; other Sub-IDs >= 0x80 are status messages (18.2).
  const v2gEvCommand = bytes[1] === '27' && subId >= 0xa0 && subId < 0xc0;
  return reqId === 0xff && subId >= 0x80 && !v2gEvCommand ? 'status' : 'request';
}

/**
 * Whether the line that ends in C1 closes the frame: its byte count matches the size field, or
 * the line is the usual short "CS C1" tail (a long data line may end in a C1 data byte).
 */
function closes(lineBytes: string[], all: string[]): boolean {
  if (lineBytes[lineBytes.length - 1] !== 'C1' || all.length < 8) return false;
  const size = parseInt((all[4] ?? '0') + (all[5] ?? '0'), 16);
  return all.length === size + 8 || lineBytes.length <= 2;
}

export function extract(text: string): ManualExample[] {
  const lines = text.split(/\r?\n/);
  const out: ManualExample[] = [];
  let section = '';
  let title = '';
  let lastText = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (isFooter(line) || line.trim() === '') continue;
    const h = HEADING.exec(line);
    if (h && Number((h[1] as string).split('.')[0]) >= 10) {
      section = h[1] as string;
      title = h[2] as string;
    }
    if (!line.startsWith('C0 ') || section === '') {
      lastText = line.trim();
      continue;
    }
    const start = i;
    const bytes: string[] = [];
    const notes: string[] = [];
    let open = false;
    for (; i < lines.length; i++) {
      const l = lines[i] as string;
      if (isFooter(l) || l.trim() === '') continue;
      // A caption line means the printed frame never got its C1 (the manual drops it).
      if (i > start && /^[A-Za-z][^()]*:\s*$/.test(l.trim()) && !open) {
        notes.push('frame not closed by C1');
        i--;
        break;
      }
      const c = stripComments(l, open);
      open = c.open;
      const t = hexTokens(c.text);
      bytes.push(...t.bytes);
      if (t.rest !== '') notes.push(t.rest);
      if (closes(t.bytes, bytes)) break;
    }
    out.push({
      id: out.length + 1,
      line: start + 1,
      section,
      title,
      caption: lastText.replace(/:\s*$/, '').trim(),
      direction: guessDirection(lastText, bytes),
      hex: bytes.join(' '),
      notes,
    });
    lastText = '';
  }
  return out;
}

function main(): void {
  const [manual = MANUAL, outFile = OUT] = process.argv.slice(2);
  const examples = extract(readFileSync(manual, 'utf8'));
  writeFileSync(outFile, `${JSON.stringify(examples, null, 1)}\n`);
  const withNotes = examples.filter((e) => e.notes.length > 0).length;
  console.log(`${examples.length} example frames (${withNotes} with non-hex content) -> ${outFile}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
