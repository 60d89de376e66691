/**
 * QR labels rendered straight from the QR module matrix (qrcode's encoder): a 1-bit greyscale PNG like
 * mfg_tool's pyqrcode (version 2 at least, error correction M, scale 6, quiet zone 4) and an SVG. Writing the
 * PNG here (png.ts, its own row-repeat deflate) costs ~0.01 ms instead of ~4 ms through qrcode's pngjs path,
 * which matters at hundreds of devices per second.
 */
import QRCode from "qrcode";
import { pngGrey1 } from "./png.js";

export interface QrMatrix {
    size: number;
    /** row-major, 1 = dark */
    modules: Uint8Array;
    /**
     * The same symbol as one integer per row, bit c set for a dark module in column c: given by the version-2 fast
     * encoder (size ≤ 31), from which the labels are drawn a word at a time instead of a module at a time.
     */
    rows?: readonly number[];
}

const MASKS: Array<(r: number, c: number) => boolean> = [
    (r, c) => (r + c) % 2 === 0,
    r => r % 2 === 0,
    (_r, c) => c % 3 === 0,
    (r, c) => (r + c) % 3 === 0,
    (r, c) => (Math.floor(r / 2) + Math.floor(c / 3)) % 2 === 0,
    (r, c) => ((r * c) % 2) + ((r * c) % 3) === 0,
    (r, c) => (((r * c) % 2) + ((r * c) % 3)) % 2 === 0,
    (r, c) => (((r * c) % 3) + ((r + c) % 2)) % 2 === 0,
];

/**
 * Per version: for each mask, the values of the reserved cells (function patterns, format/version bits — the
 * same for every payload, probed once) and the mask's bits (0/1 per cell).
 */
const versionCache = new Map<number, { fixed: Uint8Array[]; bits: Uint8Array[] }>();
function versionTables(version: number, size: number): { fixed: Uint8Array[]; bits: Uint8Array[] } {
    let v = versionCache.get(version);
    if (!v) {
        const fixed = MASKS.map((_, m) => {
            const probe = QRCode.create([{ data: "0", mode: "numeric" }], { errorCorrectionLevel: "M", version, maskPattern: m as QRCode.QRCodeMaskPattern });
            return Uint8Array.from(probe.modules.data as unknown as ArrayLike<number>, x => (x ? 1 : 0));
        });
        versionCache.set(version, (v = { fixed, bits: maskBits(size) }));
    }
    return v;
}

/** The eight mask patterns as 0/1 cells of a `size` × `size` symbol. */
function maskBits(size: number): Uint8Array[] {
    return MASKS.map(mask => {
        const b = new Uint8Array(size * size);
        for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) b[r * size + c] = mask(r, c) ? 1 : 0;
        return b;
    });
}

/** qrcode's mask penalty (N1 runs, N2 2×2 blocks, N3 finder-like 1:1:3:1:1, N4 dark balance) over a 0/1 matrix. */
function penalty(d: Uint8Array, size: number, bound = Infinity): number {
    let points = 0;
    for (let a = 0; a < size; a++) {
        let runR = 0, lastR = -1, runC = 0, lastC = -1, bitsR = 0, bitsC = 0;
        for (let b = 0; b < size; b++) {
            const vr = d[a * size + b]!;
            const vc = d[b * size + a]!;
            if (vr === lastR) runR++;
            else {
                if (runR >= 5) points += 3 + runR - 5;
                lastR = vr;
                runR = 1;
            }
            if (vc === lastC) runC++;
            else {
                if (runC >= 5) points += 3 + runC - 5;
                lastC = vc;
                runC = 1;
            }
            bitsR = ((bitsR << 1) & 0x7ff) | vr;
            bitsC = ((bitsC << 1) & 0x7ff) | vc;
            if (b >= 10) {
                if (bitsR === 0x5d0 || bitsR === 0x05d) points += 40;
                if (bitsC === 0x5d0 || bitsC === 0x05d) points += 40;
            }
        }
        if (runR >= 5) points += 3 + runR - 5;
        if (runC >= 5) points += 3 + runC - 5;
    }
    if (points >= bound) return points; // every term is ≥ 0: this mask cannot win any more
    let dark = 0;
    for (let r = 0; r < size; r++) {
        for (let c = 0; c < size; c++) {
            const v = d[r * size + c]!;
            dark += v;
            if (r < size - 1 && c < size - 1) {
                const sum = v + d[r * size + c + 1]! + d[(r + 1) * size + c]! + d[(r + 1) * size + c + 1]!;
                if (sum === 0 || sum === 4) points += 3;
            }
        }
    }
    return points + Math.abs(Math.ceil((dark * 100) / d.length / 5) - 10) * 10;
}

/**
 * Encodes `text` (version ≥ 2 like mfg_tool, EC level M; larger versions when the text needs them). The mask
 * is the lowest-penalty one, as qrcode picks it, but found on flat arrays from one encoding (≈ 4× faster).
 */
export function qrMatrix(text: string): QrMatrix {
    // Matter QR payloads ("MT:" + base38) are all QR alphanumeric characters: one segment, no segmentation search
    const fast = text.length > 0 && text.length <= V2M_ALNUM_CAPACITY && ALNUM_RE.test(text) ? alnumV2M(text) : undefined;
    if (fast) return fast;
    return qrMatrixGeneric(text);
}

function genericMatrix(_text: string, data: string | QRCode.QRCodeSegment[]): QrMatrix {
    let qr: QRCode.QRCode;
    try {
        qr = QRCode.create(data, { errorCorrectionLevel: "M", version: 2, maskPattern: 0 });
    } catch {
        qr = QRCode.create(data, { errorCorrectionLevel: "M", maskPattern: 0 });
    }
    const size = qr.modules.size;
    const n = size * size;
    const src = qr.modules.data as unknown as ArrayLike<number | boolean>;
    const reserved = (qr.modules as unknown as { reservedBit: ArrayLike<number | boolean> }).reservedBit;
    const { fixed, bits } = versionTables(qr.version, size);
    const unmasked = new Uint8Array(n);
    const mask0 = bits[0]!;
    for (let i = 0; i < n; i++) unmasked[i] = reserved[i] ? 0 : (src[i] ? 1 : 0) ^ mask0[i]!;
    let best: Uint8Array | undefined;
    let bestPenalty = Infinity;
    for (let m = 0; m < 8; m++) {
        const mb = bits[m]!;
        const f = fixed[m]!;
        const cand = new Uint8Array(n);
        for (let i = 0; i < n; i++) cand[i] = reserved[i] ? f[i]! : unmasked[i]! ^ mb[i]!;
        const p = penalty(cand, size, bestPenalty);
        if (p < bestPenalty) {
            bestPenalty = p;
            best = cand;
        }
    }
    return { size, modules: best! };
}

// ---------------------------------------------------------------------------------------------------------------
// Version 2-M, alphanumeric: every Matter onboarding payload without TLV extension data ("MT:" + 19 base38 chars).
// The symbol is built here directly (bit stream, Reed-Solomon, zigzag placement) and the 8 masks are scored on
// bit-packed rows and columns (25-bit integers): ≈ 15 µs instead of ≈ 100 µs through qrcode + flat arrays. The
// function patterns and format bits come from qrcode itself (probed once); the tests compare every module with
// qrcode's own encoder.

const ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const ALNUM_RE = /^[0-9A-Z $%*+\-./:]*$/;
/** Data capacity of version 2-M in alphanumeric mode. */
const V2M_ALNUM_CAPACITY = 38;
const V2M_DATA_CODEWORDS = 28;
const V2M_EC_CODEWORDS = 16;
const V2_SIZE = 25;

/** GF(256) with the QR polynomial 0x11D. */
const GF_EXP = new Uint8Array(512);
const GF_LOG = new Uint8Array(256);
{
    let x = 1;
    for (let i = 0; i < 255; i++) {
        GF_EXP[i] = x;
        GF_LOG[x] = i;
        x <<= 1;
        if (x & 0x100) x ^= 0x11d;
    }
    for (let i = 255; i < 512; i++) GF_EXP[i] = GF_EXP[i - 255]!;
}

/** Generator polynomial ∏(x − α^i), i < n, coefficients from the highest degree (leading 1 dropped). */
function rsGenerator(n: number): Uint8Array {
    let g = Uint8Array.of(1);
    for (let i = 0; i < n; i++) {
        const next = new Uint8Array(g.length + 1);
        for (let j = 0; j < g.length; j++) {
            next[j]! ^= g[j]!;
            if (g[j]) next[j + 1]! ^= GF_EXP[GF_LOG[g[j]!]! + i]!;
        }
        g = next;
    }
    return g.subarray(1);
}
const RS16 = rsGenerator(V2M_EC_CODEWORDS);

interface V2Tables {
    /** Cell index (row * size + col) of each data bit, in placement order. */
    order: Int16Array;
    reservedRows: Int32Array;
    reservedCols: Int32Array;
    maskRows: Int32Array[];
    maskCols: Int32Array[];
    /** Values of the reserved cells (function patterns, format bits of that mask). */
    fixedRows: Int32Array[];
    fixedCols: Int32Array[];
}
let v2Tables: V2Tables | undefined;

function rowsAndCols(cells: ArrayLike<number>, size: number): [Int32Array, Int32Array] {
    const rows = new Int32Array(size);
    const cols = new Int32Array(size);
    for (let r = 0; r < size; r++) {
        for (let c = 0; c < size; c++) {
            if (cells[r * size + c]) {
                rows[r]! |= 1 << c;
                cols[c]! |= 1 << r;
            }
        }
    }
    return [rows, cols];
}

/**
 * The 15 format-information bits of EC level M (indicator 00) and a mask: BCH(15,5) with generator 0x537, XOR
 * 0x5412 (ISO/IEC 18004 §7.9; qrcode's getEncodedBits).
 */
export function formatBitsM(mask: number): number {
    const data = mask & 7; // (level M = 0b00) << 3 | mask
    let rem = data << 10;
    for (let bit = 14; bit >= 10; bit--) if (rem & (1 << bit)) rem ^= 0x537 << (bit - 10);
    return ((data << 10) | rem) ^ 0x5412;
}

/**
 * Version 2's reserved cells with the values of mask `m`: one qrcode probe (mask 0) gives the function patterns;
 * only the format bits differ between masks, placed as qrcode's setupFormatInfo does (instead of eight probes,
 * whose encoding loops V8 would also compile in every fresh process).
 */
function fixedV2(probe: ArrayLike<number | boolean>, size: number): Uint8Array[] {
    const base = Uint8Array.from(probe, x => (x ? 1 : 0));
    return MASKS.map((_, m) => {
        const f = base.slice();
        const bits = formatBitsM(m);
        for (let i = 0; i < 15; i++) {
            const v = (bits >> i) & 1;
            const row = i < 6 ? i : i < 8 ? i + 1 : size - 15 + i; // vertical copy, column 8
            f[row * size + 8] = v;
            const col = i < 8 ? size - i - 1 : i < 9 ? 15 - i : 14 - i; // horizontal copy, row 8
            f[8 * size + col] = v;
        }
        f[(size - 8) * size + 8] = 1; // the dark module
        return f;
    });
}

function tablesV2(): V2Tables {
    if (v2Tables) return v2Tables;
    const size = V2_SIZE;
    const probe = QRCode.create([{ data: "0", mode: "numeric" }], { errorCorrectionLevel: "M", version: 2, maskPattern: 0 });
    const reserved = Uint8Array.from((probe.modules as unknown as { reservedBit: ArrayLike<number | boolean> }).reservedBit, x => (x ? 1 : 0));
    // the standard zigzag: column pairs from the right, up then down, skipping the vertical timing column
    const order: number[] = [];
    let inc = -1;
    let row = size - 1;
    for (let col = size - 1; col > 0; col -= 2) {
        if (col === 6) col--;
        for (;;) {
            for (let c = 0; c < 2; c++) if (!reserved[row * size + col - c]) order.push(row * size + col - c);
            row += inc;
            if (row < 0 || row >= size) {
                row -= inc;
                inc = -inc;
                break;
            }
        }
    }
    const fixed = fixedV2(probe.modules.data as unknown as ArrayLike<number>, size);
    const bits = maskBits(size);
    const [reservedRows, reservedCols] = rowsAndCols(reserved, size);
    const masks = bits.map(b => rowsAndCols(b, size));
    const fixedRC = fixed.map(f => rowsAndCols(Uint8Array.from(f, (v, i) => (reserved[i] ? v : 0)), size));
    return (v2Tables = {
        order: Int16Array.from(order),
        reservedRows,
        reservedCols,
        maskRows: masks.map(m => m[0]),
        maskCols: masks.map(m => m[1]),
        fixedRows: fixedRC.map(m => m[0]),
        fixedCols: fixedRC.map(m => m[1]),
    });
}

function popcount(x: number): number {
    x -= (x >>> 1) & 0x55555555;
    x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
    return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** N1 (runs ≥ 5: 3 + excess) and N3 (1:1:3:1:1 with 4 light modules, count) of one line (bit c = cell c). */
function lineN1(line: number, size: number): number {
    const e1 = ~(line ^ (line << 1)) & (((1 << size) - 1) & ~1); // bit c: cell c equals cell c−1
    const eq5 = e1 & (e1 << 1) & (e1 << 2) & (e1 << 3); // bit c: cells c−4..c equal
    // a run of L ≥ 5 sets L − 4 bits of eq5 (contiguous, one start): L − 2 = 3 + (L − 5) points
    return popcount(eq5) + 2 * popcount(eq5 & ~(eq5 << 1));
}

/** Windows of 11 cells starting at bit s (s ≤ size − 11): cells s..s+10 = 1011101 0000 or 0000 1011101. */
function lineN3(line: number, size: number): number {
    const inv = ~line;
    let a = (1 << (size - 10)) - 1;
    let b = a;
    // qrcode scans MSB-first: 0x5D0 = cells 1,0,1,1,1,0,1,0,0,0,0 and 0x05D = 0,0,0,0,1,0,1,1,1,0,1 from the window start
    a &= line & (inv >> 1) & (line >> 2) & (line >> 3) & (line >> 4) & (inv >> 5) & (line >> 6) & (inv >> 7) & (inv >> 8) & (inv >> 9) & (inv >> 10);
    b &= inv & (inv >> 1) & (inv >> 2) & (inv >> 3) & (line >> 4) & (inv >> 5) & (line >> 6) & (line >> 7) & (line >> 8) & (inv >> 9) & (line >> 10);
    return popcount(a) + popcount(b);
}

/** qrcode's mask penalty (same value as `penalty`) over bit-packed rows and columns. */
export function penaltyBits(rows: Int32Array, cols: Int32Array, size: number): number {
    let n1 = 0;
    let n3 = 0;
    let n2 = 0;
    let dark = 0;
    const pairMask = (1 << (size - 1)) - 1;
    for (let i = 0; i < size; i++) {
        const r = rows[i]!;
        const c = cols[i]!;
        n1 += lineN1(r, size) + lineN1(c, size);
        n3 += lineN3(r, size) + lineN3(c, size);
        dark += popcount(r);
        if (i < size - 1) {
            const v = ~(r ^ rows[i + 1]!);
            n2 += popcount(v & (v >> 1) & ~(r ^ (r >> 1)) & pairMask);
        }
    }
    const k = Math.abs(Math.ceil((dark * 100) / (size * size) / 5) - 10);
    return n1 + n2 * 3 + n3 * 40 + k * 10;
}

/**
 * alnumV2M's working arrays, one set per thread, reused: a typed array over 64 bytes lives outside V8's heap and
 * costs ≈ 1 µs to create (an ArrayBuffer backing store), as much as a fifth of the whole symbol when each call made
 * its own six to fourteen.
 */
const v2Work = {
    cw: new Uint8Array(V2M_DATA_CODEWORDS + V2M_EC_CODEWORDS),
    dataRows: new Int32Array(V2_SIZE),
    dataCols: new Int32Array(V2_SIZE),
    rows: new Int32Array(V2_SIZE),
    cols: new Int32Array(V2_SIZE),
    bestRows: new Int32Array(V2_SIZE),
};

/** Version 2-M alphanumeric symbol of `text` (≤ 38 characters of the alphanumeric set). */
function alnumV2M(text: string): QrMatrix {
    const t = tablesV2();
    const size = V2_SIZE;
    const { cw, dataRows, dataCols, rows, cols, bestRows } = v2Work;
    cw.fill(0);
    dataRows.fill(0);
    dataCols.fill(0);
    // bit stream: mode 0010, 9-bit count, 11 bits per pair, 6 for an odd last character, terminator, pad
    let acc = 0;
    let nbits = 0;
    let pos = 0;
    const put = (value: number, n: number): void => {
        acc = (acc << n) | value;
        nbits += n;
        while (nbits >= 8) {
            nbits -= 8;
            cw[pos++] = (acc >>> nbits) & 0xff;
        }
        acc &= (1 << nbits) - 1;
    };
    put(0b0010, 4);
    put(text.length, 9);
    let i = 0;
    for (; i + 1 < text.length; i += 2) put(ALNUM.indexOf(text[i]!) * 45 + ALNUM.indexOf(text[i + 1]!), 11);
    if (i < text.length) put(ALNUM.indexOf(text[i]!), 6);
    const used = pos * 8 + nbits;
    const capacity = V2M_DATA_CODEWORDS * 8;
    put(0, Math.min(4, capacity - used));
    if (nbits > 0) put(0, 8 - nbits);
    for (let pad = 0; pos < V2M_DATA_CODEWORDS; pad ^= 1) cw[pos++] = pad ? 0x11 : 0xec;
    // Reed-Solomon: remainder of data · x^16 by the generator
    const ec = cw.subarray(V2M_DATA_CODEWORDS);
    for (let k = 0; k < V2M_DATA_CODEWORDS; k++) {
        const f = cw[k]! ^ ec[0]!;
        ec.copyWithin(0, 1);
        ec[V2M_EC_CODEWORDS - 1] = 0;
        if (f) {
            const lf = GF_LOG[f]!;
            for (let j = 0; j < V2M_EC_CODEWORDS; j++) ec[j]! ^= GF_EXP[lf + GF_LOG[RS16[j]!]!]!;
        }
    }
    // placement (the remainder cells after the last codeword stay light before masking)
    const order = t.order;
    const nBits = cw.length * 8;
    for (let k = 0; k < nBits; k++) {
        if ((cw[k >> 3]! >> (7 - (k & 7))) & 1) {
            const cell = order[k]!;
            const r = (cell / size) | 0;
            const c = cell - r * size;
            dataRows[r]! |= 1 << c;
            dataCols[c]! |= 1 << r;
        }
    }
    let bestPenalty = Infinity;
    for (let m = 0; m < 8; m++) {
        const mr = t.maskRows[m]!, mc = t.maskCols[m]!, fr = t.fixedRows[m]!, fc = t.fixedCols[m]!;
        for (let k = 0; k < size; k++) {
            rows[k] = ((dataRows[k]! ^ mr[k]!) & ~t.reservedRows[k]!) | fr[k]!;
            cols[k] = ((dataCols[k]! ^ mc[k]!) & ~t.reservedCols[k]!) | fc[k]!;
        }
        const p = penaltyBits(rows, cols, size);
        if (p < bestPenalty) {
            bestPenalty = p;
            bestRows.set(rows);
        }
    }
    // a plain array (on V8's heap, unlike an Int32Array of 100 bytes); the flat modules only when asked for
    const rowBits: number[] = [];
    for (let r = 0; r < size; r++) rowBits.push(bestRows[r]!);
    return new RowMatrix(size, rowBits);
}

/** A symbol kept as row words; its flat `modules` made on first use (the labels draw from the rows). */
class RowMatrix implements QrMatrix {
    #modules: Uint8Array | undefined;

    constructor(
        readonly size: number,
        readonly rows: readonly number[],
    ) {}

    get modules(): Uint8Array {
        if (!this.#modules) {
            const { size, rows } = this;
            const m = new Uint8Array(size * size);
            for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) m[r * size + c] = (rows[r]! >>> c) & 1;
            this.#modules = m;
        }
        return this.#modules;
    }
}

/** The general path (qrcode's encoder, any version), exposed for tests. */
export function qrMatrixGeneric(text: string): QrMatrix {
    const data: string | QRCode.QRCodeSegment[] = ALNUM_RE.test(text) ? [{ data: text, mode: "alphanumeric" }] : text;
    return genericMatrix(text, data);
}

/** The PNG label: 1-bit greyscale, `scale` pixels per module, a quiet zone of `quiet` modules (see png.ts). */
export function qrPng(m: QrMatrix, scale = 6, quiet = 4): Uint8Array {
    const dim = (m.size + 2 * quiet) * scale;
    const rowBytes = Math.ceil(dim / 8);
    const stride = rowBytes + 1; // filter byte (0: none) + pixels; greyscale 1-bit: 1 = white
    // one scanline per module row (quiet rows included), each repeated `scale` times by the PNG writer; in this
    // thread's reused buffer (pngGrey1 reads it before returning)
    const need = stride * (m.size + 2 * quiet);
    if (labelWork.lines.length < need) labelWork.lines = new Uint8Array(need);
    const lines = labelWork.lines.subarray(0, need);
    if (m.rows && scale === 6 && m.size + quiet <= 31) {
        rowScanlines(m.rows, m.size, quiet, lines, stride);
        return pngGrey1(lines, dim, scale);
    }
    lines.fill(0xff);
    for (let y = 0; y < m.size + 2 * quiet; y++) lines[y * stride] = 0;
    for (let my = 0; my < m.size; my++) {
        const first = (my + quiet) * stride + 1;
        for (let mx = 0; mx < m.size; mx++) {
            if (m.modules[my * m.size + mx] !== 1) continue;
            for (let p = (mx + quiet) * scale, end = p + scale; p < end; p++) lines[first + (p >> 3)]! &= ~(0x80 >> (p & 7));
        }
    }
    return pngGrey1(lines, dim, scale);
}

/**
 * Scale 6: four modules are 24 pixels, three whole bytes. A scanline starts with the quiet zone at pixel 0, so
 * modules 4g..4g+3 of it (quiet modules counted) are bytes 3g..3g+2: here those bytes for each 4-bit group
 * (bit j = module j dark), 1 = white.
 */
const GROUP6 = Uint32Array.from({ length: 16 }, (_, nibble) => {
    let v = 0xffffff;
    for (let j = 0; j < 4; j++) if ((nibble >> j) & 1) v &= ~(0x3f << (18 - 6 * j));
    return v;
});

/** The PNG scanlines of a symbol given as row words at scale 6: each module row (quiet zone included) once. */
function rowScanlines(rows: readonly number[], size: number, quiet: number, lines: Uint8Array, stride: number): void {
    const rowBytes = stride - 1;
    const height = size + 2 * quiet;
    for (let y = 0; y < height; y++) {
        const r = y - quiet;
        const word = r >= 0 && r < size ? rows[r]! << quiet : 0; // bit c + quiet: module c; the quiet zone stays light
        let at = y * stride;
        lines[at++] = 0; // filter: none
        for (let g = 0, b = 0; b < rowBytes; g++) {
            const v = GROUP6[g < 8 ? (word >>> (4 * g)) & 15 : 0]!; // (a shift by 32 would be a shift by 0)
            lines[at++] = v >>> 16;
            if (++b < rowBytes) lines[at++] = (v >>> 8) & 0xff;
            if (++b < rowBytes) lines[at++] = v & 0xff;
            b++;
        }
    }
}

/**
 * This thread's work buffers for labels (PNG scanlines, SVG text), reused: a typed array over 64 bytes is an
 * ArrayBuffer outside V8's heap, ≈ 1 µs to make, as much as the label's own work.
 */
const labelWork = { lines: new Uint8Array(1024), svg: new Uint8Array(8192) };

/** An SVG label: one path of unit squares, with the quiet zone. */
export function qrSvg(m: QrMatrix, quiet = 4): string {
    return Buffer.from(qrSvgBytes(m, quiet)).toString("latin1");
}

/**
 * The SVG of qrSvg as ASCII bytes, written straight into one buffer: no string per path segment (the string
 * version allocated ≈ 40 KB of short-lived strings per label, a visible share of a batch's GC time).
 */
export function qrSvgBytes(m: QrMatrix, quiet = 4): Uint8Array {
    const dim = m.size + 2 * quiet;
    const { head, tail } = svgFrame(dim);
    // at most one segment per two modules of a row, each "M" x " " y "h" run "v1h-" run "z" (numbers < dim)
    const digits = String(dim).length;
    const bound = head.length + tail.length + Math.ceil((m.size * m.size) / 2) * (8 + 4 * digits) + 16;
    if (labelWork.svg.length < bound) labelWork.svg = new Uint8Array(bound);
    const out = labelWork.svg;
    out.set(head, 0);
    let p = head.length;
    const size = m.size;
    if (m.rows) {
        for (let y = 0; y < size; y++) {
            let bits = m.rows[y]!;
            while (bits !== 0) {
                const x = 31 - Math.clz32(bits & -bits); // the first dark module left in the row
                const rest = ~(bits >>> x);
                const run = rest === 0 ? 32 - x : 31 - Math.clz32(rest & -rest); // dark modules from x on
                p = writeRun(out, p, x + quiet, y + quiet, run);
                bits &= run >= 32 ? 0 : ~(((1 << run) - 1) << x);
            }
        }
    } else {
        const mod = m.modules;
        for (let y = 0; y < size; y++) {
            for (let x = 0; x < size; x++) {
                if (mod[y * size + x] !== 1) continue;
                let run = 1;
                while (x + run < size && mod[y * size + x + run] === 1) run++;
                p = writeRun(out, p, x + quiet, y + quiet, run);
                x += run - 1;
            }
        }
    }
    out.set(tail, p);
    // the document (≈ 3 KB for version 2) copied out of the work buffer, into Node's Buffer pool
    return Buffer.from(out.subarray(0, p + tail.length));
}

/** One run of `run` dark modules from (x, y) as a path segment, "M x y h run v1 h-run z"; returns the position after it. */
function writeRun(out: Uint8Array, p: number, x: number, y: number, run: number): number {
    out[p++] = 0x4d; // M
    p = writeDecimal(out, p, x);
    out[p++] = 0x20;
    p = writeDecimal(out, p, y);
    out[p++] = 0x68; // h
    p = writeDecimal(out, p, run);
    out[p++] = 0x76; // v
    out[p++] = 0x31; // 1
    out[p++] = 0x68; // h
    out[p++] = 0x2d; // -
    p = writeDecimal(out, p, run);
    out[p++] = 0x7a; // z
    return p;
}

/** ASCII digits of `v` (≥ 0) at `out[p]`; returns the position after them. Plain typed-array code: no Buffer methods for V8 to inline. */
function writeDecimal(out: Uint8Array, p: number, v: number): number {
    if (v >= 1000) {
        const text = String(v);
        for (let i = 0; i < text.length; i++) out[p++] = text.charCodeAt(i);
        return p;
    }
    if (v >= 100) out[p++] = 48 + ((v / 100) | 0);
    if (v >= 10) out[p++] = 48 + (((v / 10) | 0) % 10);
    out[p++] = 48 + (v % 10);
    return p;
}

/** The SVG text before and after the path data, by symbol size (a batch uses one or two sizes). */
const svgFrames = new Map<number, { head: Uint8Array; tail: Uint8Array }>();
function svgFrame(dim: number): { head: Uint8Array; tail: Uint8Array } {
    let f = svgFrames.get(dim);
    if (!f) {
        const ascii = (text: string): Uint8Array => Uint8Array.from(text, c => c.charCodeAt(0));
        f = {
            head: ascii(
                `<?xml version="1.0" encoding="UTF-8"?>\n` +
                    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${dim} ${dim}" width="${dim * 6}" height="${dim * 6}" shape-rendering="crispEdges">` +
                    `<rect width="${dim}" height="${dim}" fill="#fff"/><path fill="#000" d="`,
            ),
            tail: ascii(`"/></svg>\n`),
        };
        if (svgFrames.size >= 64) svgFrames.clear();
        svgFrames.set(dim, f);
    }
    return f;
}
