/**
 * QR labels: render an onboarding payload as a PNG or SVG label image, and read a label image back
 * (`decodeQrPng`, used by the commissioner to take a device's code from its label). Pure functions over
 * bytes/strings; writing the files is the caller's business.
 *
 * Rendering is synchronous and deterministic (qrcode's module matrix, drawn by us with pngjs / as SVG rects), so
 * the same payload always gives the same bytes. `MT:` + base38 is entirely in the QR alphanumeric set, so the
 * symbol uses alphanumeric mode.
 */
import { PNG } from "pngjs";
import QRCode from "qrcode";
import jsQRModule from "jsqr";
import { OnboardingError } from "./errors.js";

// jsqr is CommonJS with `exports.default`; under NodeNext its typings make the default import the namespace.
type JsQR = typeof import("jsqr").default;
const jsQR: JsQR = (jsQRModule as unknown as { default?: JsQR }).default ?? (jsQRModule as unknown as JsQR);

export interface LabelOptions {
    /** QR error correction level (default "M"). */
    errorCorrectionLevel?: "L" | "M" | "Q" | "H";
    /** Pixels per module (PNG) / user units per module (SVG); default 8. */
    scale?: number;
    /** Quiet zone in modules (default 4, the QR standard's minimum). */
    margin?: number;
}

export interface QrMatrix {
    size: number;
    /** Row-major, 1 = dark module. */
    modules: Uint8Array;
}

/** The module matrix of the QR symbol for `payload`. */
export function qrMatrix(payload: string, options: LabelOptions = {}): QrMatrix {
    let qr: ReturnType<typeof QRCode.create>;
    try {
        qr = QRCode.create(payload, { errorCorrectionLevel: options.errorCorrectionLevel ?? "M" });
    } catch (e) {
        throw new OnboardingError("CHIP_ERROR_INVALID_ARGUMENT", `cannot make a QR symbol: ${(e as Error).message}`);
    }
    const size = qr.modules.size;
    const modules = new Uint8Array(size * size);
    for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) modules[r * size + c] = qr.modules.get(r, c) ? 1 : 0;
    return { size, modules };
}

function geometry(options: LabelOptions): { scale: number; margin: number } {
    const scale = options.scale ?? 8;
    const margin = options.margin ?? 4;
    if (!Number.isInteger(scale) || scale < 1 || scale > 64) throw new OnboardingError("CHIP_ERROR_INVALID_ARGUMENT", `label scale ${scale} (1..64)`, "scale");
    if (!Number.isInteger(margin) || margin < 0 || margin > 64) throw new OnboardingError("CHIP_ERROR_INVALID_ARGUMENT", `label margin ${margin} (0..64)`, "margin");
    return { scale, margin };
}

/** A grayscale-looking RGBA PNG of the QR symbol (black on white). */
export function renderQrPng(payload: string, options: LabelOptions = {}): Uint8Array {
    const { size, modules } = qrMatrix(payload, options);
    const { scale, margin } = geometry(options);
    const px = (size + 2 * margin) * scale;
    const png = new PNG({ width: px, height: px });
    png.data.fill(0xff);
    for (let r = 0; r < size; r++) {
        for (let c = 0; c < size; c++) {
            if (!modules[r * size + c]) continue;
            for (let y = (r + margin) * scale; y < (r + margin + 1) * scale; y++) {
                for (let x = (c + margin) * scale; x < (c + margin + 1) * scale; x++) {
                    const i = (y * px + x) * 4;
                    png.data[i] = png.data[i + 1] = png.data[i + 2] = 0;
                }
            }
        }
    }
    return new Uint8Array(PNG.sync.write(png));
}

function escapeXml(s: string): string {
    return s.replace(/[<>&"']/g, ch => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[ch]!);
}

/**
 * An SVG label: the QR symbol, and optionally the payload text and manual code printed under it (as on a real
 * device label).
 */
export function renderQrSvg(payload: string, options: LabelOptions & { caption?: string[] } = {}): string {
    const { size, modules } = qrMatrix(payload, options);
    const { scale, margin } = geometry(options);
    const side = (size + 2 * margin) * scale;
    const lines = options.caption ?? [];
    const lineHeight = Math.max(12, scale * 2);
    const height = side + lines.length * lineHeight + (lines.length ? scale : 0);
    const rects: string[] = [];
    for (let r = 0; r < size; r++) {
        // one rect per horizontal run of dark modules keeps the file small
        for (let c = 0; c < size; ) {
            if (!modules[r * size + c]) {
                c++;
                continue;
            }
            let end = c;
            while (end < size && modules[r * size + end]) end++;
            rects.push(`<rect x="${(c + margin) * scale}" y="${(r + margin) * scale}" width="${(end - c) * scale}" height="${scale}"/>`);
            c = end;
        }
    }
    const text = lines.map(
        (line, i) =>
            `<text x="${side / 2}" y="${side + (i + 1) * lineHeight}" font-family="monospace" font-size="${lineHeight * 0.8}" text-anchor="middle">${escapeXml(line)}</text>`,
    );
    return [
        `<?xml version="1.0" encoding="UTF-8"?>`,
        `<svg xmlns="http://www.w3.org/2000/svg" width="${side}" height="${height}" viewBox="0 0 ${side} ${height}" shape-rendering="crispEdges">`,
        `<title>${escapeXml(payload)}</title>`,
        `<rect width="100%" height="100%" fill="#fff"/>`,
        `<g fill="#000">${rects.join("")}</g>`,
        ...text,
        `</svg>`,
        "",
    ].join("\n");
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Reads the QR code in a PNG image and returns its text (e.g. `MT:…`). A file that is not a PNG, or an image
 * without a readable QR code, is an OnboardingError (CHIP_ERROR_INVALID_ARGUMENT).
 */
export function decodeQrPng(png: Uint8Array): string {
    let image: { width: number; height: number; data: Buffer };
    if (png.length < PNG_SIGNATURE.length || PNG_SIGNATURE.some((b, i) => png[i] !== b)) {
        throw new OnboardingError("CHIP_ERROR_INVALID_ARGUMENT", `not a PNG image (no PNG signature in its first 8 of ${png.length} bytes)`);
    }
    try {
        image = PNG.sync.read(Buffer.from(png.buffer, png.byteOffset, png.byteLength));
    } catch (e) {
        // pngjs says "There are some read requests waitng on finished stream" when the data ends early
        const why = /read requests/.test((e as Error).message) ? `truncated (${png.length} bytes)` : (e as Error).message;
        throw new OnboardingError("CHIP_ERROR_INVALID_ARGUMENT", `not a readable PNG image: ${why}`);
    }
    if (image.width * image.height > 40_000_000) {
        throw new OnboardingError("CHIP_ERROR_INVALID_ARGUMENT", `label image ${image.width}x${image.height} is too large`);
    }
    const rgba = new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.width * image.height * 4);
    const found = jsQR(rgba, image.width, image.height, { inversionAttempts: "attemptBoth" });
    if (found === null || found.data.length === 0) {
        throw new OnboardingError("CHIP_ERROR_INVALID_ARGUMENT", "no QR code found in the image");
    }
    return found.data;
}
