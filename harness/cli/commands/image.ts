import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { action, table } from "../action.js";
import { parseNumber, parseSize } from "../args.js";
import { inFile, readInput, writeFileAtomic } from "../io.js";

const CHIPS = ["esp32", "esp32s2", "esp32c3", "esp32s3", "esp32c2", "esp32c6", "esp32h2"];
const collect = (v: string, prev: string[] = []) => [...prev, v];

function chipArg(v: string): string {
    const c = v.toLowerCase().replace(/-/g, "");
    if (!CHIPS.includes(c)) throw new InvalidArgumentError(`--chip must be one of ${CHIPS.join(", ")}, got '${v}'`);
    return c;
}

function u32(what: string) {
    return (v: string): number => {
        const n = parseNumber(v, what);
        if (n > 0xffffffff) throw new InvalidArgumentError(`${what} must fit in 32 bits, got ${v}`);
        return n;
    };
}

/** `mfgsim image`: ESP-IDF app images (idf.py build output, esptool image_info) and Secure Boot V2 (espsecure). */
export function register(program: Command): void {
    const group = program.command("image").description("ESP-IDF app images and Secure Boot V2 signatures (esptool image_info, espsecure)");

    group.command("build")
        .description("build a synthetic, well-formed app image (header, segments, esp_app_desc_t, checksum, SHA-256)")
        .requiredOption("--chip <chip>", `target chip: ${CHIPS.join("|")}`, chipArg)
        .requiredOption("--version <s>", "esp_app_desc_t.version (PROJECT_VER, ≤ 31 bytes); an integer also serves as Matter SoftwareVersion")
        .option("--secure-version <n>", "esp_app_desc_t.secure_version (anti-rollback)", u32("--secure-version"), 0)
        .option("--project-name <s>", "esp_app_desc_t.project_name (≤ 31 bytes)", "virtual-matter-light")
        .option("--size <bytes>", "grow the image to this many bytes (rounded up to 16; K/M suffixes)", s => parseSize(s, "--size"))
        .option("--software-version <n>", "Matter SoftwareVersion (u32) stored in esp_app_desc_t reserved bytes", u32("--software-version"))
        .option("--idf-ver <s>", "esp_app_desc_t.idf_ver", "v5.5.1")
        .requiredOption("-o, --output <file>", "output app image (.bin)")
        .option("--json", "print one JSON document on stdout")
        .addHelpText("after", "\nExample:\n  mfgsim image build --chip esp32c3 --version 1.0.0 --software-version 1 -o app.bin\n")
        .action(action("image build", async (opts: { json?: boolean; chip: string; version: string; secureVersion: number; projectName: string; size?: number; softwareVersion?: number; idfVer: string; output: string }) => {
            const { buildAppImage, sha256 } = await import("../../../emulator/bootloader_support/index.js");
            const bytes = buildAppImage({
                chip: opts.chip,
                version: opts.version,
                secureVersion: opts.secureVersion,
                projectName: opts.projectName,
                idfVer: opts.idfVer,
                ...(opts.size !== undefined ? { size: opts.size } : {}),
                ...(opts.softwareVersion !== undefined ? { matterSoftwareVersion: opts.softwareVersion } : {}),
            });
            await writeFileAtomic(opts.output, bytes);
            const digest = Buffer.from(sha256(bytes)).toString("hex");
            return {
                json: { output: opts.output, sha256: digest, size: bytes.length, chip: opts.chip },
                text: table([["output", opts.output], ["size", bytes.length], ["sha256", digest]]),
            };
        }));

    group.command("info")
        .description("show an app image's header, segments, checksum/hash status, app descriptor and signature blocks (esptool image_info)")
        .argument("<app.bin>", "app image (signed or not)")
        .option("--json", "print one JSON document on stdout")
        .action(action("image info", async (file: string, _opts: { json?: boolean }) => {
            const { imageInfo } = await import("../../../emulator/bootloader_support/index.js");
            const bytes = await readInput(file, "app image");
            const info = inFile(file, () => imageInfo(bytes));
            const rows: Array<[string, string | number | boolean | null]> = [
                ["chip id", `${info.chipId}${info.chip ? ` (${info.chip})` : ""}`],
                ["entry", info.entryAddr],
                ...info.segments.map((s, i): [string, string] => [`segment ${i}`, `load ${s.loadAddr} len 0x${s.length.toString(16)} at file 0x${s.fileOffset.toString(16)}`]),
                ["checksum", info.checksumOk ? "valid" : "INVALID"],
                ["sha256", info.hashOk === null ? "not appended" : info.hashOk ? "valid" : "INVALID"],
                ["version", info.appDesc?.version ?? null],
                ["project", info.appDesc?.projectName ?? null],
                ["secure_version", info.appDesc?.secureVersion ?? null],
                ["idf", info.appDesc?.idfVer ?? null],
                ["matter sw version", info.appDesc?.matterSoftwareVersion ?? null],
                ...info.signatureBlocks.map((b): [string, string] => [`signature block ${b.index}`, `${b.scheme} key digest ${b.keyDigest}${b.imageDigestOk ? "" : " (image digest MISMATCH)"}`]),
            ];
            return { json: info, text: table(rows) };
        }));

    group.command("sign")
        .description("sign an app image for Secure Boot V2 (espsecure sign_data --version 2): pad to 4 KiB, append the signature sector")
        .argument("<app.bin>", "app image to sign")
        .requiredOption("--keyfile <pem>", "RSA-3072 or ECDSA P-256/P-384 private key (PEM); repeat for several blocks", collect)
        .option("--append-signatures", "keep the valid blocks of an already signed image and add to them (max 3)")
        .requiredOption("-o, --output <file>", "signed output image")
        .option("--json", "print one JSON document on stdout")
        .addHelpText("after", "\nRSA-PSS uses a random salt (like espsecure), so two signatures of the same image differ.\n")
        .action(action("image sign", async (file: string, opts: { json?: boolean; keyfile: string[]; appendSignatures?: boolean; output: string }) => {
            const { keyDigest, loadSigningKey, signImage } = await import("../../../emulator/bootloader_support/index.js");
            const keys: Array<ReturnType<typeof loadSigningKey>> = [];
            for (const k of opts.keyfile) keys.push(loadSigningKey(await readInput(k, "key file"), k));
            const bytes = await readInput(file, "app image");
            const signed = inFile(file, () => signImage(bytes, keys, { appendSignatures: !!opts.appendSignatures }));
            await writeFileAtomic(opts.output, signed);
            const digests = keys.map(k => Buffer.from(keyDigest(k.kind === "rsa" ? { kind: "rsa", n: k.n, e: k.e } : { kind: "ecdsa", curve: k.curve, x: k.x, y: k.y })).toString("hex"));
            return {
                json: { output: opts.output, keyDigest: digests[0], keyDigests: digests, size: signed.length },
                text: table([["output", opts.output], ["size", signed.length], ...digests.map((d, i): [string, string] => [`key digest ${i}`, d])]),
            };
        }));

    group.command("verify")
        .description("verify a signed app image against eFuse key digests (espsecure verify_signature v2 + the bootloader's digest check); exit 1 when not valid")
        .argument("<app.bin>", "signed app image")
        .requiredOption("--key-digest <file>", "eFuse key digest: 32-byte binary (espsecure digest_sbv2_public_key), 16 bytes (ESP32-C2), hex text, or a PEM key; repeatable", collect)
        .option("--revoked-digest <file>", "a digest burned but revoked (named in the reason, never accepted); repeatable", collect)
        .option("--json", "print one JSON document on stdout")
        .action(action("image verify", async (file: string, opts: { json?: boolean; keyDigest: string[]; revokedDigest?: string[] }) => {
            const { verifySignedImage } = await import("../../../emulator/bootloader_support/index.js");
            const digests: Uint8Array[] = [];
            for (const f of opts.keyDigest) digests.push(await readDigest(f));
            const revoked: Uint8Array[] = [];
            for (const f of opts.revokedDigest ?? []) revoked.push(await readDigest(f));
            const bytes = await readInput(file, "app image");
            const r = inFile(file, () => verifySignedImage(bytes, { digests, revokedDigests: revoked }));
            return {
                json: { valid: r.valid, block: r.block, reason: r.reason, blocks: r.blocks },
                text: (r.valid ? "valid: " : "NOT valid: ") + r.reason,
                exitCode: r.valid ? 0 : 1,
            };
        }));
}


async function readDigest(file: string): Promise<Uint8Array> {
    const { DiagnosticError } = await import("../../../emulator/esp_common/err.js");
    const raw = await readInput(file, "key digest file");
    if (raw.length === 32 || raw.length === 16) return new Uint8Array(raw);
    const text = raw.toString("utf8").trim();
    if (text.startsWith("-----BEGIN")) {
        const { keyDigest, publicKeyInfo } = await import("../../../emulator/bootloader_support/index.js");
        return inFile(file, () => keyDigest(publicKeyInfo(text, file)));
    }
    if (/^([0-9a-f]{64}|[0-9a-f]{32})$/i.test(text)) return new Uint8Array(Buffer.from(text, "hex"));
    throw new DiagnosticError("ESP_ERR_INVALID_ARG", `a key digest is 32 bytes (16 on ESP32-C2), hex text or a PEM key; this file has ${raw.length} bytes`, { file });
}
