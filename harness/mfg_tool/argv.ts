/**
 * esp-matter-mfg-tool uses argparse, which allows multi-letter short flags (-cd, -lt, -vf, -cn, -cf, -dm, -ds).
 * Commander only knows single-letter short flags (it would read `-cd x` as `-c` with the value `d`), so the
 * exact tokens are rewritten to their long forms before commander sees them.
 */
export const MULTI_LETTER_SHORT_FLAGS: Readonly<Record<string, string>> = {
    "-cd": "--cert-dclrn",
    "-lt": "--lifetime",
    "-vf": "--valid-from",
    "-cn": "--cn-prefix",
    "-cf": "--commissioning-flow",
    "-dm": "--discovery-mode",
    "-ds": "--ds-peripheral",
};

/** Rewrites `-cd x` / `-cd=x` to `--cert-dclrn x` / `--cert-dclrn=x`; stops at `--` (everything after is positional). */
export function rewriteMfgArgv(argv: readonly string[]): string[] {
    const out: string[] = [];
    let positional = false;
    for (const token of argv) {
        if (positional) {
            out.push(token);
            continue;
        }
        if (token === "--") {
            positional = true;
            out.push(token);
            continue;
        }
        const eq = token.indexOf("=");
        const flag = eq > 0 ? token.slice(0, eq) : token;
        const long = MULTI_LETTER_SHORT_FLAGS[flag];
        out.push(long === undefined ? token : eq > 0 ? `${long}${token.slice(eq)}` : long);
    }
    return out;
}
