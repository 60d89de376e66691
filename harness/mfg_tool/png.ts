/**
 * A 1-bit greyscale PNG writer for QR labels, with its own small deflate encoder (RFC 1951 fixed Huffman codes).
 *
 * A label is a few distinct scanlines, each repeated `scale` times. The encoder writes every scanline that equals
 * the one above as a single back-reference (distance = one scanline) and runs of a repeated byte inside a new
 * scanline as distance-1 matches; everything else is literals. That needs no hash chains and no zlib stream:
 * ≈ 10 µs for a version-2 label instead of ≈ 30–70 µs through `zlib.deflateSync`, whose stream object alone
 * costs more than the compression (`generate` writes one label per device). The output is a few hundred bytes
 * larger than zlib's; any PNG reader inflates it (tests read it back with pngjs and jsQR).
 */
import { crc32 } from "node:zlib";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const MAX_MATCH = 258;

/** Fixed Huffman code of each literal/length symbol 0..287, bit-reversed (deflate writes codes MSB-first). */
const LIT_CODE = new Uint16Array(288);
const LIT_BITS = new Uint8Array(288);
{
    const reverse = (code: number, bits: number): number => {
        let r = 0;
        for (let i = 0; i < bits; i++) r |= ((code >> i) & 1) << (bits - 1 - i);
        return r;
    };
    for (let s = 0; s < 288; s++) {
        const [code, bits] = s < 144 ? [0x30 + s, 8] : s < 256 ? [0x190 + s - 144, 9] : s < 280 ? [s - 256, 7] : [0xc0 + s - 280, 8];
        LIT_CODE[s] = reverse(code, bits);
        LIT_BITS[s] = bits;
    }
}

/** Length 3..258 → symbol (257..285), extra bit count and extra value (RFC 1951 §3.2.5). */
const LEN_SYMBOL = new Uint16Array(MAX_MATCH + 1);
const LEN_EXTRA_BITS = new Uint8Array(MAX_MATCH + 1);
const LEN_EXTRA = new Uint8Array(MAX_MATCH + 1);
{
    const base = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
    const extra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
    for (let len = 3; len <= MAX_MATCH; len++) {
        let i = base.length - 1;
        while (base[i]! > len) i--;
        LEN_SYMBOL[len] = 257 + i;
        LEN_EXTRA_BITS[len] = extra[i]!;
        LEN_EXTRA[len] = len - base[i]!;
    }
}

/** Distance 1..32768 → (5-bit code, extra bit count, extra value). */
function distanceCode(d: number): { code: number; bits: number; extra: number } {
    if (d <= 4) return { code: d - 1, bits: 0, extra: 0 };
    const bits = 31 - Math.clz32(d - 1) - 1; // extra bits: floor(log2(d − 1)) − 1
    const half = (d - 1) >> bits; // 2 or 3
    return { code: 2 * bits + half, bits, extra: (d - 1) & ((1 << bits) - 1) };
}

class BitWriter {
    private acc = 0;
    private n = 0;
    pos = 0;

    constructor(readonly out: Uint8Array) {}

    put(value: number, bits: number): void {
        this.acc |= value << this.n;
        this.n += bits;
        while (this.n >= 8) {
            this.out[this.pos++] = this.acc & 0xff;
            this.acc >>>= 8;
            this.n -= 8;
        }
    }

    flush(): void {
        if (this.n > 0) this.out[this.pos++] = this.acc & 0xff;
        this.acc = 0;
        this.n = 0;
    }
}

/**
 * zlib stream (RFC 1950), one fixed-Huffman block, of an image whose scanlines are `lines` (`stride` bytes each),
 * each one repeated `repeat` times in a row. A scanline equal to the one above becomes back-references of
 * distance `stride`; only distinct lines are read, so a label scaled ×6 costs one sixth of its pixels.
 */
export function deflateLines(lines: Uint8Array, stride: number, repeat = 1): Uint8Array {
    return deflateLinesInto(lines, stride, repeat, undefined);
}

/**
 * deflateLines into `work` (grown when too small; a fresh buffer without it): the result is a view of it, valid
 * until the next call with the same `work`. pngGrey1 copies it into the PNG at once, so a label makes no buffer
 * of its own for the stream (a typed array over 64 bytes is an ArrayBuffer outside V8's heap, ≈ 1 µs to make).
 */
function deflateLinesInto(lines: Uint8Array, stride: number, repeat: number, work: { buf: Uint8Array } | undefined): Uint8Array {
    if (stride < 1 || stride > 32768 || lines.length % stride !== 0 || !Number.isInteger(repeat) || repeat < 1) {
        throw new RangeError(`deflateLines: ${lines.length} bytes are not whole lines of ${stride}, or repeat ${repeat} < 1`);
    }
    const distinct = lines.length / stride;
    // worst case: < 11 bits a byte for literal lines (9-bit literals; a 3-byte match costs at most 8 + 5 + 5 + 13
    // bits); a copied line is at most ⌈stride / 258⌉ + 1 matches and two literals
    const copyBits = (Math.ceil(stride / MAX_MATCH) + 1) * 31 + 2 * 9;
    const bound = 16 + Math.ceil((lines.length * 11 + distinct * repeat * copyBits) / 8);
    if (work && work.buf.length < bound) work.buf = new Uint8Array(bound);
    const w = new BitWriter(work ? work.buf : new Uint8Array(bound));
    w.out[w.pos++] = 0x78; // CM 8 (deflate), 32 KiB window
    w.out[w.pos++] = 0x01; // FLEVEL 0, FCHECK: 0x7801 % 31 === 0
    w.put(1, 1); // BFINAL
    w.put(1, 2); // BTYPE 01: fixed Huffman
    const lineDist = distanceCode(stride);
    const lineDcode = reverse5(lineDist.code);
    const oneDcode = reverse5(0); // distance 1
    const match = (len: number, dcode: number, dbits: number, dextra: number): void => {
        const s = LEN_SYMBOL[len]!;
        w.put(LIT_CODE[s]!, LIT_BITS[s]!);
        if (LEN_EXTRA_BITS[len]) w.put(LEN_EXTRA[len]!, LEN_EXTRA_BITS[len]!);
        w.put(dcode, 5);
        if (dbits) w.put(dextra, dbits);
    };
    // the usual copied line (stride 3..258) is one match of length and distance `stride`: its bits, in two halves
    const whole = stride >= 3 && stride <= MAX_MATCH ? matchBits(stride, lineDcode, lineDist.bits, lineDist.extra) : undefined;
    /** The line at `start` once more, as a copy of the one before it. */
    const copyLine = (start: number): void => {
        if (whole) {
            w.put(whole.low, whole.lowBits);
            w.put(whole.high, whole.highBits);
            return;
        }
        let left = stride;
        while (left >= 3) {
            // never leave 1–2 bytes (a match is ≥ 3): they go as literals
            const len = left > MAX_MATCH ? (left - MAX_MATCH >= 3 ? MAX_MATCH : left - 3) : left;
            match(len, lineDcode, lineDist.bits, lineDist.extra);
            left -= len;
        }
        for (let i = start + stride - left; i < start + stride; i++) w.put(LIT_CODE[lines[i]!]!, LIT_BITS[lines[i]!]!);
    };
    // Adler-32 line by line: a line adds its byte sum S to s1 and n·s1 + W to s2, W = Σ (n − i)·b[i]
    let s1 = 1;
    let s2 = 0;
    for (let k = 0; k < distinct; k++) {
        const start = k * stride;
        let lineSum = 0;
        let lineWeighted = 0;
        for (let i = 0; i < stride; i++) {
            lineSum += lines[start + i]!;
            lineWeighted += (stride - i) * lines[start + i]!;
        }
        lineSum %= 65521;
        lineWeighted %= 65521;
        for (let r = 0; r < repeat; r++) {
            s2 = (s2 + stride * s1 + lineWeighted) % 65521;
            s1 = (s1 + lineSum) % 65521;
        }
        let first = 0;
        if (k === 0 || !sameLine(lines, start - stride, start, stride)) {
            first = 1;
            const end = start + stride;
            let i = start;
            while (i < end) {
                const b = lines[i]!;
                w.put(LIT_CODE[b]!, LIT_BITS[b]!);
                let run = 0;
                while (i + 1 + run < end && run < MAX_MATCH && lines[i + 1 + run] === b) run++;
                if (run >= 3) {
                    match(run, oneDcode, 0, 0);
                    i += 1 + run;
                } else i++;
            }
        }
        for (let r = first; r < repeat; r++) copyLine(start);
    }
    w.put(LIT_CODE[256]!, LIT_BITS[256]!); // end of block
    w.flush();
    w.out[w.pos++] = s2 >>> 8;
    w.out[w.pos++] = s2 & 0xff;
    w.out[w.pos++] = s1 >>> 8;
    w.out[w.pos++] = s1 & 0xff;
    return w.out.subarray(0, w.pos);
}

/** A match (length symbol, extra bits, distance code, extra bits) as one bit string split in two puts of ≤ 16 bits. */
function matchBits(len: number, dcode: number, dbits: number, dextra: number): { low: number; lowBits: number; high: number; highBits: number } {
    let value = 0;
    let n = 0;
    const add = (v: number, bits: number): void => {
        value += v * 2 ** n; // up to 31 bits: no 32-bit shifts
        n += bits;
    };
    const s = LEN_SYMBOL[len]!;
    add(LIT_CODE[s]!, LIT_BITS[s]!);
    add(LEN_EXTRA[len]!, LEN_EXTRA_BITS[len]!);
    add(dcode, 5);
    add(dextra, dbits);
    const lowBits = Math.min(16, n);
    return { low: value % 2 ** lowBits, lowBits, high: Math.floor(value / 2 ** lowBits), highBits: n - lowBits };
}

function reverse5(code: number): number {
    let r = 0;
    for (let i = 0; i < 5; i++) r |= ((code >> i) & 1) << (4 - i);
    return r;
}

function sameLine(raw: Uint8Array, a: number, b: number, n: number): boolean {
    for (let i = 0; i < n; i++) if (raw[a + i] !== raw[b + i]) return false;
    return true;
}

/** This thread's buffer for the zlib stream of the PNG being written. */
const idatWork = { buf: new Uint8Array(4096) };

/**
 * PNG of 1-bit greyscale scanlines: `lines` holds distinct scanlines, each a filter byte (0) followed by
 * ceil(width / 8) bytes, most significant bit first, 1 = white; each is shown `repeat` times.
 */
export function pngGrey1(lines: Uint8Array, width: number, repeat = 1): Uint8Array {
    const stride = Math.ceil(width / 8) + 1;
    const height = (lines.length / stride) * repeat;
    const idat = deflateLinesInto(lines, stride, repeat, idatWork);
    // every byte is written below; a label (≈ 1 KB) comes from Node's Buffer pool instead of an ArrayBuffer of its own
    const out = Buffer.allocUnsafe(8 + 25 + 12 + idat.length + 12);
    const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
    out.set(PNG_SIGNATURE, 0);
    let p = 8;
    const chunk = (type: string, body: (at: number) => number): void => {
        const start = p;
        p += 4;
        for (let i = 0; i < 4; i++) out[p++] = type.charCodeAt(i);
        const len = body(p);
        dv.setUint32(start, len);
        p += len;
        dv.setUint32(p, crc32(out.subarray(start + 4, p)) >>> 0);
        p += 4;
    };
    chunk("IHDR", at => {
        dv.setUint32(at, width);
        dv.setUint32(at + 4, height);
        out[at + 8] = 1; // bit depth
        out[at + 9] = 0; // greyscale
        out[at + 10] = 0; // compression
        out[at + 11] = 0; // filter
        out[at + 12] = 0; // interlace
        return 13;
    });
    chunk("IDAT", at => {
        out.set(idat, at);
        return idat.length;
    });
    chunk("IEND", () => 0);
    return out;
}
