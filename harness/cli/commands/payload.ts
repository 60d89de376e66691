import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { action, table } from "../action.js";
import { intIn, parseNumber } from "../args.js";
import { writeFileAtomic } from "../io.js";

const CAPABILITY_NAMES: Record<string, number> = { softap: 1, ble: 2, onnetwork: 4, wifipaf: 8, nfc: 16 };

/** --capabilities: a number (0x… or decimal) or names joined by , or | (softap, ble, onnetwork, wifipaf, nfc). */
function parseCapabilities(value: string): number {
    const v = value.trim();
    if (/^(0x[0-9a-f]+|[0-9]+)$/i.test(v)) return intIn(0, 255, "--capabilities")(v);
    let bits = 0;
    for (const name of v.split(/[,|+]/)) {
        const bit = CAPABILITY_NAMES[name.trim().toLowerCase()];
        if (bit === undefined) {
            throw new InvalidArgumentError(`--capabilities must be a bitmask or names (softap, ble, onnetwork, wifipaf, nfc), got '${value}'`);
        }
        bits |= bit;
    }
    return bits;
}

interface GenerateOpts {
    json?: boolean;
    vid: number;
    pid: number;
    passcode: number;
    discriminator: number;
    flow: number;
    capabilities?: number;
    png?: string;
    svg?: string;
}

export function register(program: Command): void {
    const group = program.command("payload").description("Matter onboarding payloads: QR code and manual pairing code (SetupPayload.py)");

    group
        .command("generate")
        .description("make the QR code (MT:…) and manual pairing code of a device; optionally write a QR label as PNG/SVG")
        .requiredOption("--vid <vid>", "vendor ID (0 or 0x0001..0xFFF4)", s => parseNumber(s, "--vid"))
        .requiredOption("--pid <pid>", "product ID (0 only with VID 0)", s => parseNumber(s, "--pid"))
        .requiredOption("--passcode <n>", "setup passcode 1..99999998, not a trivial one (11111111, 12345678, …)", s => parseNumber(s, "--passcode"))
        .requiredOption("--discriminator <d>", "12-bit discriminator 0..0xFFF", s => parseNumber(s, "--discriminator"))
        .option("--flow <n>", "commissioning flow: 0 standard, 1 user intent, 2 custom (1/2 give a 21-digit manual code)", intIn(0, 2, "--flow"), 0)
        .option(
            "--capabilities <bits>",
            "discovery capabilities bitmask (bit 0 SoftAP, 1 BLE, 2 OnNetwork, 3 WiFiPAF, 4 NFC) or names like ble,onnetwork; default 4 (OnNetwork) as SetupPayload.py",
            parseCapabilities,
        )
        .option("--png <file>", "also write the QR label as a PNG image")
        .option("--svg <file>", "also write the QR label as an SVG image (with the manual code printed under it)")
        .option("--json", "print one JSON document on stdout")
        .action(
            action("payload generate", async (opts: GenerateOpts) => {
                const { generateOnboardingCodes, formatManualCode } = await import("../../onboarding/index.js");
                const codes = generateOnboardingCodes({
                    vendorId: opts.vid,
                    productId: opts.pid,
                    passcode: opts.passcode,
                    discriminator: opts.discriminator,
                    commissioningFlow: opts.flow,
                    ...(opts.capabilities !== undefined ? { discoveryCapabilities: opts.capabilities } : {}),
                });
                const json: Record<string, unknown> = { ...codes };
                const lines = [`Manualcode : ${codes.manualCode}`, `QRCode     : ${codes.qrCode}`];
                if (opts.png !== undefined || opts.svg !== undefined) {
                    const { renderQrPng, renderQrSvg } = await import("../../onboarding/label.js");
                    if (opts.png !== undefined) {
                        await writeFileAtomic(opts.png, renderQrPng(codes.qrCode));
                        json.png = opts.png;
                        lines.push(`PNG label  : ${opts.png}`);
                    }
                    if (opts.svg !== undefined) {
                        await writeFileAtomic(opts.svg, renderQrSvg(codes.qrCode, { caption: [formatManualCode(codes.manualCode)] }));
                        json.svg = opts.svg;
                        lines.push(`SVG label  : ${opts.svg}`);
                    }
                }
                return { json, text: lines.join("\n") };
            }),
        );

    group
        .command("parse")
        .description("decode a QR code payload (MT:…) or a manual pairing code (dashes/spaces allowed); --png reads a label image")
        .argument("[code...]", "MT:… or the 11/21-digit manual code")
        .option("--png <file>", "read the QR code from a label image instead")
        .option("--json", "print one JSON document on stdout")
        .action(
            action("payload parse", async (code: string[], opts: { json?: boolean; png?: string }) => {
                const { parseOnboardingCode, discoveryCapabilityNames, OnboardingError } = await import("../../onboarding/index.js");
                let text = code.join(" ");
                if (opts.png !== undefined) {
                    const { inFile, readInput } = await import("../io.js");
                    const { decodeQrPng } = await import("../../onboarding/label.js");
                    const bytes = await readInput(opts.png, "label image");
                    text = inFile(opts.png, () => decodeQrPng(bytes));
                } else if (text.trim() === "") {
                    throw new OnboardingError("CHIP_ERROR_INVALID_ARGUMENT", "give a QR code payload (MT:…) or a manual code, or --png <file>");
                }
                const { payloads, qr } = parseOnboardingCode(text);
                const docs = payloads.map((p, i) => {
                    const { kind: _kind, ...fields } = p;
                    const doc: Record<string, unknown> = fields;
                    const ext = qr?.[i]?.extension;
                    if (ext) {
                        doc.tlv = {
                            serialNumber: ext.serialNumber ?? null,
                            pbkdfIterations: ext.pbkdfIterations ?? null,
                            pbkdfSalt: ext.pbkdfSalt ? Buffer.from(ext.pbkdfSalt).toString("base64") : null,
                            numberOfDevices: ext.numberOfDevices ?? null,
                            commissioningTimeout: ext.commissioningTimeout ?? null,
                            vendorTags: ext.vendorElements.map(e => (e.tag.kind === "context" ? e.tag.id : null)),
                            raw: Buffer.from(qr![i]!.tlvData!).toString("hex"),
                        };
                    }
                    return doc;
                });
                const json: Record<string, unknown> = { ...docs[0], kind: payloads[0]!.kind };
                if (docs.length > 1) json.payloads = docs;
                const text2 = payloads
                    .map(p =>
                        table([
                            ["Kind", p.kind === "qr" ? "QR code" : "manual code"],
                            ["Version", p.version],
                            ["Vendor ID", p.vendorId === null ? null : `${p.vendorId} (0x${p.vendorId.toString(16).padStart(4, "0")})`],
                            ["Product ID", p.productId === null ? null : `${p.productId} (0x${p.productId.toString(16).padStart(4, "0")})`],
                            ["Flow", p.commissioningFlow],
                            [
                                "Discovery Capabilities",
                                p.discoveryCapabilities === null ? null : `${p.discoveryCapabilities} (${discoveryCapabilityNames(p.discoveryCapabilities).join(", ") || "none"})`,
                            ],
                            ["Long Discriminator", p.discriminator],
                            ["Short Discriminator", p.shortDiscriminator],
                            ["Passcode", p.passcode],
                        ]),
                    )
                    .join("\n\n");
                return { json, text: text2 };
            }),
        );
}
