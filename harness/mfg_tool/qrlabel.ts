/**
 * QR labels rendered straight from the QR module matrix (qrcode's encoder): a 1-bit greyscale PNG like
 * mfg_tool's pyqrcode (version 2 at least, error correction M, scale 6, quiet zone 4) and an SVG. Writing the
 * PNG here (one zlib deflate of a few KB) costs ~0.05 ms instead of ~4 ms through qrcode's pngjs path, which
 * matters at hundreds of devices per second.
 */
import QRCode from "qrcode";
import { crc32, deflateSync } from "node:zlib";

export interface QrMatrix {
    size: number;
    /** row-major, 1 = dark */
    modules: Uint8Array;
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
        const bits = MASKS.map(mask => {
            const b = new Uint8Array(size * size);
            for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) b[r * size + c] = mask(r, c) ? 1 : 0;
            return b;
        });
        versionCache.set(version, (v = { fixed, bits }));
    }
    return v;
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
    const data: string | QRCode.QRCodeSegment[] = /^[0-9A-Z $%*+\-./:]*$/.test(text) ? [{ data: text, mode: "alphanumeric" }] : text;
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

function chunk(type: string, body: Uint8Array): Buffer {
    const out = Buffer.alloc(12 + body.length);
    out.writeUInt32BE(body.length, 0);
    out.write(type, 4, "latin1");
    out.set(body, 8);
    out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)) >>> 0, 8 + body.length);
    return out;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A 1-bit greyscale PNG (black modules on white), `scale` pixels per module, `quiet` modules of margin. */
export function qrPng(m: QrMatrix, scale = 6, quiet = 4): Uint8Array {
    const dim = (m.size + 2 * quiet) * scale;
    const rowBytes = Math.ceil(dim / 8);
    const stride = rowBytes + 1; // filter byte (0: none) + pixels; greyscale 1-bit: 1 = white
    const raw = Buffer.alloc(stride * dim, 0xff);
    for (let y = 0; y < dim; y++) raw[y * stride] = 0;
    for (let my = 0; my < m.size; my++) {
        const first = (my + quiet) * scale * stride + 1;
        for (let mx = 0; mx < m.size; mx++) {
            if (m.modules[my * m.size + mx] !== 1) continue;
            for (let p = (mx + quiet) * scale, end = p + scale; p < end; p++) raw[first + (p >> 3)]! &= ~(0x80 >> (p & 7));
        }
        for (let r = 1; r < scale; r++) raw.copy(raw, first + r * stride, first, first + rowBytes);
    }
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(dim, 0);
    ihdr.writeUInt32BE(dim, 4);
    ihdr[8] = 1; // bit depth
    ihdr[9] = 0; // greyscale
    return new Uint8Array(Buffer.concat([PNG_SIGNATURE, chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw, { level: 1 })), chunk("IEND", new Uint8Array(0))]));
}

/** An SVG label: one path of unit squares, with the quiet zone. */
export function qrSvg(m: QrMatrix, quiet = 4): string {
    const dim = m.size + 2 * quiet;
    let d = "";
    for (let y = 0; y < m.size; y++) {
        for (let x = 0; x < m.size; x++) {
            if (m.modules[y * m.size + x] !== 1) continue;
            let run = 1;
            while (x + run < m.size && m.modules[y * m.size + x + run] === 1) run++;
            d += `M${x + quiet} ${y + quiet}h${run}v1h-${run}z`;
            x += run - 1;
        }
    }
    return (
        `<?xml version="1.0" encoding="UTF-8"?>\n` +
        `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${dim} ${dim}" width="${dim * 6}" height="${dim * 6}" shape-rendering="crispEdges">` +
        `<rect width="${dim}" height="${dim}" fill="#fff"/><path fill="#000" d="${d}"/></svg>\n`
    );
}
