/**
 * QR labels rendered straight from the QR module matrix (qrcode's encoder): a 1-bit greyscale PNG like
 * mfg_tool's pyqrcode (version 2 at least, error correction M, scale 6, quiet zone 4) and an SVG. Writing the
 * PNG here (one zlib deflate of a few KB) costs ~0.05 ms instead of ~4 ms through qrcode's pngjs path, which
 * matters at hundreds of devices per second.
 */
import QRCode from "qrcode";
import { deflateSync } from "node:zlib";
import { crc32le } from "../../emulator/esp_rom/crc.js";

export interface QrMatrix {
    size: number;
    /** row-major, 1 = dark */
    modules: Uint8Array;
}

/** Encodes `text` (version ≥ 2 like mfg_tool, EC level M; larger versions when the text needs them). */
export function qrMatrix(text: string): QrMatrix {
    // Matter QR payloads ("MT:" + base38) are all QR alphanumeric characters: one segment, no segmentation search
    const data: string | QRCode.QRCodeSegment[] = /^[0-9A-Z $%*+\-./:]*$/.test(text) ? [{ data: text, mode: "alphanumeric" }] : text;
    let qr: QRCode.QRCode;
    try {
        qr = QRCode.create(data, { errorCorrectionLevel: "M", version: 2 });
    } catch {
        qr = QRCode.create(data, { errorCorrectionLevel: "M" });
    }
    const size = qr.modules.size;
    const modules = new Uint8Array(size * size);
    const src = qr.modules.data as unknown as ArrayLike<number | boolean>;
    for (let i = 0; i < modules.length; i++) modules[i] = src[i] ? 1 : 0;
    return { size, modules };
}

function chunk(type: string, body: Uint8Array): Buffer {
    const out = Buffer.alloc(12 + body.length);
    out.writeUInt32BE(body.length, 0);
    out.write(type, 4, "latin1");
    out.set(body, 8);
    out.writeUInt32BE(crc32le(0, out.subarray(4, 8 + body.length)) >>> 0, 8 + body.length);
    return out;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A 1-bit greyscale PNG (black modules on white), `scale` pixels per module, `quiet` modules of margin. */
export function qrPng(m: QrMatrix, scale = 6, quiet = 4): Uint8Array {
    const dim = (m.size + 2 * quiet) * scale;
    const rowBytes = Math.ceil(dim / 8);
    const raw = Buffer.alloc((rowBytes + 1) * dim, 0);
    // greyscale 1-bit: 1 = white. Build each module row once, then copy it `scale` times.
    const line = Buffer.alloc(rowBytes);
    for (let my = -quiet; my < m.size + quiet; my++) {
        line.fill(0);
        for (let px = 0; px < dim; px++) {
            const mx = Math.floor(px / scale) - quiet;
            const dark = my >= 0 && my < m.size && mx >= 0 && mx < m.size && m.modules[my * m.size + mx] === 1;
            if (!dark) line[px >> 3]! |= 0x80 >> (px & 7);
        }
        for (let r = 0; r < scale; r++) {
            const y = (my + quiet) * scale + r;
            const off = y * (rowBytes + 1);
            raw[off] = 0; // filter: none
            line.copy(raw, off + 1);
        }
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
