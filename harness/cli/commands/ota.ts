import { Command } from "commander";
import { action, table } from "../action.js";
import { parseNumber } from "../args.js";
import { readInput, writeFileAtomic } from "../io.js";

/**
 * ota_image_tool.py spells some short options with two letters (-vn, -vs, -da, -mi, -ma, -rn); commander only
 * knows one-letter short flags, so they are declared as long aliases (--vn, …) and this command rewrites the
 * argparse spelling before commander parses its options. Only tokens before a literal `--` are rewritten.
 */
const TWO_LETTER_FLAGS: Record<string, string> = { "-vn": "--vn", "-vs": "--vs", "-da": "--da", "-mi": "--mi", "-ma": "--ma", "-rn": "--rn" };

function rewriteTwoLetterFlags(args: string[]): string[] {
    const end = args.indexOf("--");
    return args.map((a, i) => {
        if (end !== -1 && i >= end) return a;
        const eq = a.indexOf("=");
        const flag = eq === -1 ? a : a.slice(0, eq);
        const long = TWO_LETTER_FLAGS[flag];
        return long === undefined ? a : long + (eq === -1 ? "" : a.slice(eq));
    });
}

interface CreateOpts {
    json?: boolean;
    vendorId: number;
    productId: number;
    version: number;
    versionStr: string;
    digestAlgorithm: string;
    minVersion?: number;
    maxVersion?: number;
    releaseNotes?: string;
}

const TAG_NAMES = ["Vendor Id", "Product Id", "Version", "Version String", "Payload Size", "Min Version", "Max Version", "Release Notes Url", "Digest Type", "Digest"];

export function register(program: Command): void {
    const group = program.command("ota").description("Matter OTA image files (connectedhomeip ota_image_tool.py)");

    const create = group
        .command("create")
        .description("create a Matter OTA image from payload file(s) (ota_image_tool.py create); refuses what the tool refuses")
        .usage("-v V -p P -vn N -vs S -da sha256|sha384|sha512 [-mi N] [-ma N] [-rn URL] <payload...> <out.ota>")
        .argument("<files...>", "payload file(s), concatenated like ota_image_tool does, then the output .ota")
        .requiredOption("-v, --vendor-id <id>", "Vendor ID (0x… or decimal, not 0)", s => parseNumber(s, "--vendor-id"))
        .requiredOption("-p, --product-id <id>", "Product ID (0x… or decimal, not 0)", s => parseNumber(s, "--product-id"))
        .requiredOption("--vn, --version <n>", "software version, numeric (-vn)", s => parseNumber(s, "--version"))
        .requiredOption("--vs, --version-str <s>", "software version string, 1-64 characters (-vs)")
        .requiredOption("--da, --digest-algorithm <alg>", "sha256, sha384, sha512 (also sha3_224/256/384/512) (-da)")
        .option("--mi, --min-version <n>", "minimum applicable software version, < version (-mi)", s => parseNumber(s, "--min-version"))
        .option("--ma, --max-version <n>", "maximum applicable software version, < version and >= min (-ma)", s => parseNumber(s, "--max-version"))
        .option("--rn, --release-notes <url>", "release notes URL, 1-256 characters (-rn)")
        .option("--json", "print one JSON document on stdout")
        .addHelpText("after", "\nExample:\n  mfgsim ota create -v 0xFFF1 -p 0x8000 -vn 2 -vs 2.0 -da sha256 app.bin app-v2.ota\n")
        .action(
            action("ota create", async (files: string[], opts: CreateOpts) => {
                const { DiagnosticError } = await import("../../../emulator/esp_common/err.js");
                if (files.length < 2) {
                    throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", "need at least one payload file and the output file");
                }
                const output = files[files.length - 1]!;
                const inputs = files.slice(0, -1);
                const { createOtaImage, validateOtaCreateOptions } = await import("../../../emulator/ota_image/create.js");
                const options = {
                    vendorId: opts.vendorId,
                    productId: opts.productId,
                    softwareVersion: opts.version,
                    softwareVersionString: opts.versionStr,
                    digestAlgorithm: opts.digestAlgorithm,
                    ...(opts.minVersion !== undefined ? { minApplicableVersion: opts.minVersion } : {}),
                    ...(opts.maxVersion !== undefined ? { maxApplicableVersion: opts.maxVersion } : {}),
                    ...(opts.releaseNotes !== undefined ? { releaseNotesUrl: opts.releaseNotes } : {}),
                };
                validateOtaCreateOptions(options); // refuse before reading big payloads
                const payload: Uint8Array[] = [];
                for (const f of inputs) payload.push(await readInput(f, "payload file"));
                const r = createOtaImage(options, payload);
                for (const w of r.warnings) process.stderr.write(`mfgsim ota create: warning: ${w}\n`);
                await writeFileAtomic(output, r.image);
                return {
                    json: { output, headerSize: r.headerSize, totalSize: r.totalSize, payloadSize: r.header.payloadSize, digest: Buffer.from(r.header.digest).toString("hex") },
                    text: `${output}: ${r.totalSize} bytes (header ${r.headerSize}, payload ${r.header.payloadSize})`,
                };
            }),
        );
    const parse = create.parseOptions.bind(create);
    create.parseOptions = (args: string[]) => parse(rewriteTwoLetterFlags(args));

    group
        .command("show")
        .description("decode a Matter OTA image header and check its digest (ota_image_tool.py show); exit 1 on a digest mismatch")
        .argument("<image>", "the .ota file")
        .option("--json", "print one JSON document on stdout")
        .action(
            action("ota show", async (file: string, _opts: { json?: boolean }) => {
                const { decodeOtaImage, OTA_FILE_IDENTIFIER } = await import("../../../emulator/ota_image/image.js");
                const { digestById } = await import("../../../emulator/ota_image/digest.js");
                const bytes = await readInput(file, "OTA image");
                let d;
                try {
                    d = decodeOtaImage(bytes);
                } catch (e) {
                    throw (e as { withContext?: (c: object) => unknown }).withContext?.({ file }) ?? e;
                }
                const h = d.header;
                const digestName = digestById(h.digestType)?.name ?? null;
                const digestHex = Buffer.from(h.digest).toString("hex");
                const values: Array<string | number | undefined> = [
                    h.vendorId,
                    h.productId,
                    h.softwareVersion,
                    h.softwareVersionString,
                    h.payloadSize,
                    h.minApplicableVersion,
                    h.maxApplicableVersion,
                    h.releaseNotesUrl,
                    h.digestType,
                    digestHex,
                ];
                const lines = [
                    `Magic: ${OTA_FILE_IDENTIFIER.toString(16)}`,
                    `Total Size: ${d.totalSize}`,
                    `Header Size: ${d.headerSize}`,
                    "Header TLV:",
                    ...d.tags.map(tag => {
                        const v = values[tag]!;
                        return `  [${tag}] ${TAG_NAMES[tag]}: ${typeof v === "number" ? `${v} (0x${v.toString(16)})` : v}`;
                    }),
                    "",
                    table([
                        ["Digest type", digestName ?? `unknown (${h.digestType})`],
                        ["Digest check", d.digestOk ? "OK" : digestName ? "MISMATCH" : "not checked (unknown digest type)"],
                    ]),
                ];
                return {
                    json: {
                        vendorId: h.vendorId,
                        productId: h.productId,
                        softwareVersion: h.softwareVersion,
                        softwareVersionString: h.softwareVersionString,
                        payloadSize: h.payloadSize,
                        minApplicableVersion: h.minApplicableVersion ?? null,
                        maxApplicableVersion: h.maxApplicableVersion ?? null,
                        releaseNotesUrl: h.releaseNotesUrl ?? null,
                        digestType: digestName,
                        digest: digestHex,
                        digestTypeId: h.digestType,
                        digestOk: d.digestOk,
                        headerSize: d.headerSize,
                        totalSize: d.totalSize,
                    },
                    text: lines.join("\n"),
                    exitCode: d.digestOk ? 0 : 1,
                };
            }),
        );
}
