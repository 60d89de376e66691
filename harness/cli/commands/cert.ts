import type { Command } from "commander";
import { action, table } from "../action.js";
import { inFile, readInput } from "../io.js";

/** `mfgsim cert`: decode X.509 certificates (chip-cert print-cert style) with the Matter attestation fields. */
export function register(program: Command): void {
    const group = program.command("cert").description("X.509 certificates of the Matter attestation PKI (PAA, PAI, DAC)");
    group.command("inspect")
        .description("print the decoded fields: subject (incl. VID/PID), issuer, validity, SKID/AKID, basicConstraints, keyUsage, public key, profile check")
        .argument("<file>", "certificate (DER or PEM)")
        .option("--json", "print one JSON document on stdout")
        .addHelpText("after", "\nExample:\n  mfgsim cert inspect Chip-Test-DAC-FFF1-8000-0000-Cert.der --json\n")
        .action(action("cert inspect", async (file: string, opts: { json?: boolean }) => {
            const { DiagnosticError } = await import("../../../emulator/esp_common/err.js");
            const { certificatesInFile } = await import("../../pki/trust-dir.js");
            const x = await import("../../pki/x509.js");
            const { extractVidPid, profileProblem } = await import("../../pki/verify.js");
            const { hex } = await import("../../pki/der.js");
            const data = await readInput(file, "certificate");
            const ders = certificatesInFile(data);
            if (ders.length === 0) throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", "no CERTIFICATE block in the PEM file", { file });
            const c = inFile(file, () => x.parseCertificate(ders[0]!));
            const ext = (oid: string) => x.findExtension(c, oid);
            const safe = <T>(f: () => T): T | { error: string } => {
                try {
                    return f();
                } catch (e) {
                    return { error: e instanceof Error ? e.message : String(e) };
                }
            };
            const bcE = ext(x.OID.basicConstraints), kuE = ext(x.OID.keyUsage), skE = ext(x.OID.subjectKeyIdentifier), akE = ext(x.OID.authorityKeyIdentifier);
            const bc = bcE ? safe(() => ({ ...x.decodeBasicConstraints(bcE), critical: bcE.critical })) : undefined;
            const ku = kuE ? safe(() => ({ usages: x.keyUsageNames(x.decodeKeyUsage(kuE)), critical: kuE.critical })) : undefined;
            const skid = skE ? safe(() => hex(x.decodeSkid(skE))) : undefined;
            const akid = akE ? safe(() => { const a = x.decodeAkid(akE); return a ? hex(a) : null; }) : undefined;
            let vidpid: unknown;
            try {
                const v = extractVidPid(c);
                vidpid = { vid: v.vid === undefined ? null : `0x${v.vid.toString(16).toUpperCase().padStart(4, "0")}`, pid: v.pid === undefined ? null : `0x${v.pid.toString(16).toUpperCase().padStart(4, "0")}`, source: v.source };
            } catch (p) {
                vidpid = { error: String(p) };
            }
            const isCa = !!(bc && "ca" in bc && bc.ca);
            const selfIssued = x.formatName(c.issuer) === x.formatName(c.subject);
            const kind = isCa ? (selfIssued ? "PAA" : "PAI") : "DAC";
            const problem = profileProblem(c, kind);
            const curve = c.curveOid === x.OID.prime256v1 ? "prime256v1 (P-256)" : c.curveOid === x.OID.secp256k1 ? "secp256k1" : (c.curveOid ?? "unknown");
            const json = {
                file,
                version: c.version,
                serialNumber: c.serial.toString(16).toUpperCase(),
                signatureAlgorithm: c.signatureOid === x.OID.ecdsaWithSHA256 ? "ecdsa-with-SHA256" : c.signatureOid,
                issuer: x.formatName(c.issuer),
                subject: x.formatName(c.subject),
                subjectAttributes: c.subject.map(a => ({ type: a.type, oid: a.oid, value: a.text ?? hex(a.bytes) })),
                vidPid: vidpid,
                notBefore: c.notBefore.toISOString(),
                notAfter: c.notAfter.toISOString(),
                noExpiry: c.notAfter.getUTCFullYear() === 9999,
                publicKey: { algorithm: c.keyAlgorithmOid === x.OID.ecPublicKey ? "id-ecPublicKey" : c.keyAlgorithmOid, curve, point: hex(c.publicKey) },
                basicConstraints: bc ?? null,
                keyUsage: ku ?? null,
                subjectKeyIdentifier: skid ?? null,
                authorityKeyIdentifier: akid ?? null,
                extensions: c.extensions.map(e => ({ oid: e.oid, critical: e.critical })),
                matterProfile: { kind, ok: problem === undefined, problem: problem ?? null },
            };
            const fmtBc = bc && "ca" in bc ? `CA:${bc.ca}${bc.pathLen !== undefined ? `, pathlen:${bc.pathLen}` : ""}${bc.critical ? " (critical)" : ""}` : bc ? JSON.stringify(bc) : "absent";
            const fmtKu = ku && "usages" in ku ? `${ku.usages.join(", ")}${ku.critical ? " (critical)" : ""}` : ku ? JSON.stringify(ku) : "absent";
            const text = table([
                ["File", file],
                ["Version", `v${c.version}`],
                ["Serial", json.serialNumber],
                ["Signature", json.signatureAlgorithm],
                ["Issuer", json.issuer],
                ["Subject", json.subject],
                ["VID/PID", JSON.stringify(vidpid)],
                ["Not before", json.notBefore],
                ["Not after", `${json.notAfter}${json.noExpiry ? " (no expiry)" : ""}`],
                ["Public key", `${json.publicKey.algorithm} ${curve} ${json.publicKey.point}`],
                ["Basic constraints", fmtBc],
                ["Key usage", fmtKu],
                ["SKID", typeof skid === "string" ? skid : skid ? JSON.stringify(skid) : "absent"],
                ["AKID", typeof akid === "string" ? akid : akid ? JSON.stringify(akid) : "absent"],
                ["Matter profile", `${kind}: ${problem ?? "ok"}`],
            ]);
            return { json, text };
        }));
}
