/**
 * `mfgsim generate`: esp-matter-mfg-tool v1.0.23 flags (multi-letter short flags such as -cd and -lt are
 * rewritten to their long forms before commander parses them), plus --seed, --jobs, --shard, --resume.
 */
import { Command } from "commander";
import { action } from "../action.js";
import { intIn, parseNumber, parseSize } from "../args.js";
import { rewriteMfgArgv as rewrite } from "../../mfg_tool/argv.js";

type Opts = Record<string, unknown> & { json?: boolean };

/** A `generate` command that maps argparse-style flags (-cd, -lt, -vf, -cn, -cf, -dm, -ds) before parsing. */
class MfgCommand extends Command {
    override parseOptions(argv: string[]): { operands: string[]; unknown: string[] } {
        return super.parseOptions(rewrite(argv));
    }
}

const num = (what: string) => (v: string): number => parseNumber(v, what);

export function register(program: Command): void {
    const cmd = new MfgCommand("generate")
        .description("mass-manufacturing partitions like esp-matter-mfg-tool (same flags and output layout) plus manifest.json, --seed, --jobs, --shard, --resume")
        // general
        .option("-n, --count <n>", "number of devices (the --mcsv row count overrides it)", intIn(1, 10_000_000, "--count"), 1)
        .option("--target <chip>", "target chip (esp32, esp32c3, …; recorded only)", "esp32")
        .option("-s, --size <size>", "factory NVS partition size", v => parseSize(v, "--size"), 0x6000)
        .option("-e, --encrypt", "encrypt the NVS partition (one nvs_keys partition per device)")
        .option("--log-level <level>", "debug | info | error (accepted for compatibility)", "info")
        .option("--outdir <dir>", "output directory", "out")
        .option("--no-bin", "write the per-device CSVs but no partition binaries")
        .option("--no-secure-cert-bin", "do not write the esp_secure_cert partition")
        // commissioning
        .option("--passcode <n>", "setup passcode (random per device when absent)", num("--passcode"))
        .option("--discriminator <n>", "discriminator 0..0xFFF (random per device when absent)", num("--discriminator"))
        .option("--commissioning-flow <n>", "-cf: 0 standard, 1 user intent, 2 custom", intIn(0, 2, "--commissioning-flow"), 0)
        .option("--discovery-mode <n>", "-dm: discovery capabilities bitmap: 2 BLE, 4 on-network, 6 both", num("--discovery-mode"), 2)
        .option("--enable-dynamic-passcode", "store no verifier (a custom CommissionableDataProvider makes one)")
        .option("--salt <base64>", "SPAKE2+ salt (16..32 bytes, needs --passcode)")
        .option("--verifier <base64>", "SPAKE2+ verifier (needs --passcode and --salt; recomputed and checked)")
        .option("--iteration-count <n>", "SPAKE2+ PBKDF2 iterations 1000..100000", num("--iteration-count"), 10000)
        .option("--commissionable-data-in-secure-cert", "put discriminator/salt/verifier/iterations into esp_secure_cert instead of NVS")
        .option("--rd-id-uid-in-secure-cert", "put the rotating device id unique id into esp_secure_cert")
        // attestation
        .option("--dac-in-secure-cert", "put DAC, its key and the PAI into esp_secure_cert instead of NVS")
        .option("--lifetime <days>", "-lt: certificate lifetime in days", num("--lifetime"), 36500)
        .option("--valid-from <date>", "-vf: notBefore, YYYY-MM-DD[THH:MM:SS] UTC (default now; fixed for --seed)")
        .option("--cn-prefix <text>", "-cn: common-name prefix of a generated PAI", "ESP32")
        .option("-c, --cert <file>", "PAA (--paa) or PAI (--pai) certificate, PEM or DER")
        .option("-k, --key <file>", "its private key, PEM or DER")
        .option("--cert-dclrn <file>", "-cd: Certification Declaration (DER)")
        .option("--dac-cert <file>", "use this DAC (one device; needs --pai)")
        .option("--dac-key <file>", "its private key")
        .option("--ds-peripheral", "-ds: DS peripheral (not supported: needs a connected chip)")
        .option("--efuse-key-id <n>", "eFuse key id for -ds (not supported)")
        .option("--paa", "-c/-k are a PAA: generate a PAI, then the DACs")
        .option("--pai", "-c/-k are a PAI: generate the DACs")
        // device instance
        .option("-v, --vendor-id <vid>", "vendor id (required)", num("--vendor-id"))
        .option("-p, --product-id <pid>", "product id (required)", num("--product-id"))
        .option("--vendor-name <name>", "vendor name (≤ 32)")
        .option("--product-name <name>", "product name (≤ 32)")
        .option("--hw-ver <n>", "hardware version", num("--hw-ver"))
        .option("--hw-ver-str <text>", "hardware version string (≤ 64)")
        .option("--mfg-date <date>", "manufacturing date YYYYMMDD or YYYY-MM-DD (stored as YYYYMMDD)")
        .option("--serial-num <text>", "serial number (one device; default 32 random hex chars)")
        .option("--enable-rotating-device-id", "store a rotating device id unique id (random unless --rd-id-uid)")
        .option("--rd-id-uid <hex>", "rotating device id unique id, 32 hex chars")
        .option("--product-finish <name>", "other matte satin polished rugged fabric")
        .option("--product-color <name>", "black navy green … gold (Matter ProductAppearance colors)")
        .option("--part-number <text>", "part number (≤ 32)")
        .option("--calendar-types <types...>", "supported calendar types (Buddhist … Taiwanese)")
        .option("--locales <tags...>", "supported locales (BCP 47, e.g. en-US de-DE)")
        .option("--fixed-labels <labels...>", "fixed labels ep/label/value, e.g. 0/orientation/up")
        .option("--supported-modes <modes...>", 'supported modes mode/label/ep[/"value\\mfgCode, …"]')
        .option("--product-label <text>", "product label (≤ 64)")
        .option("--product-url <url>", "product URL (≤ 256)")
        .option("--csv <file>", "extra NVS keys: key,type,encoding rows (`name,namespace,` switches namespace)")
        .option("--mcsv <file>", "values of the --csv keys, one row per device")
        // mfgsim additions
        .option("--seed <text>", "reproducible batch: every random value derives from (seed, device index). Test batches only!")
        .option("--jobs <n>", "worker threads (default: all cores)", intIn(1, 1024, "--jobs"))
        .option("--shard <k/n>", "only the devices with index % n == k-1")
        .option("--resume", "skip complete device directories of an interrupted run and build the rest")
        .option("--no-svg", "no SVG QR label")
        .option("--no-progress", "no progress bar")
        .option("--json", "print one JSON document on stdout")
        .addHelpText("after", "\nmfg_tool's short forms -cd -lt -vf -cn -cf -dm -ds are accepted.\nOutput: <outdir>/<vid>_<pid>/<uuid>/… as esp-matter-mfg-tool, plus manifest.json.")
        .action(action("generate", async (opts: Opts) => {
            const { buildConfig, runGenerate } = await import("../../mfg_tool/cli.js");
            return runGenerate(buildConfig(opts), opts);
        }));
    program.addCommand(cmd);
}

