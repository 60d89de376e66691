/**
 * A self-contained HTML report (no scripts, no external assets) people open from a CI artifact: a summary line,
 * then one row per device — failed devices first and expanded — with its label (QR code), the checks with their
 * timings and details, and the device's boot log.
 */
import { renderQrSvg } from "../harness/onboarding/label.js";
import type { CheckResult, DeviceResult, RunResult } from "./result.js";

export function htmlEscape(s: string): string {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

const hex = (n: number | null) => (n === null ? "–" : `0x${n.toString(16).toUpperCase().padStart(4, "0")}`);

function checkChip(c: CheckResult): string {
    const title = c.detail ? ` title="${htmlEscape(c.detail)}"` : "";
    return `<span class="chk ${c.status}"${title}>${htmlEscape(c.name)}</span>`;
}

function label(d: DeviceResult): string {
    if (!d.qrCode) return "";
    let svg: string;
    try {
        svg = renderQrSvg(d.qrCode, { scale: 3, margin: 2 });
    } catch {
        return `<div class="label"><code>${htmlEscape(d.qrCode)}</code></div>`; // not a payload we can draw: show it as text
    }
    return `<div class="label">${svg.replace(/^<\?xml[^>]*>\s*/, "")}<code>${htmlEscape(d.qrCode)}</code></div>`;
}

function details(d: DeviceResult): string {
    const rows = d.checks
        .map(c => `<tr class="${c.status}"><td>${htmlEscape(c.name)}</td><td>${c.status}</td><td class="ms">${c.ms}</td><td>${htmlEscape(c.detail)}</td></tr>`)
        .join("");
    const log = d.bootLog?.length
        ? `<h4>console</h4><pre class="log">${d.bootLog.map(l => `<span class="${/^E \(/.test(l) ? "e" : /^W \(/.test(l) ? "w" : ""}">${htmlEscape(l)}</span>`).join("\n")}</pre>`
        : "";
    return (
        `<details${d.status === "fail" ? " open" : ""}><summary>checks${d.bootLog?.length ? " and console" : ""}</summary>` +
        `<div class="dev">${label(d)}<div><table class="checks"><thead><tr><th>check</th><th>status</th><th>ms</th><th>detail</th></tr></thead>` +
        `<tbody>${rows}</tbody></table>${log}</div></div></details>`
    );
}

function deviceRow(d: DeviceResult): string {
    const failed = d.checks.filter(c => c.status === "fail");
    const why = failed.length
        ? `<ul class="why">${failed.map(c => `<li><b>${htmlEscape(c.name)}</b>: ${htmlEscape(c.detail)}</li>`).join("")}</ul>`
        : "";
    const sw = d.softwareVersionAfterOta !== null ? `${d.softwareVersion ?? "–"} → ${d.softwareVersionAfterOta}` : `${d.softwareVersion ?? "–"}`;
    return (
        `<tr class="${d.status}"><td class="st">${d.status.toUpperCase()}</td>` +
        `<td><code>${htmlEscape(d.id)}</code><div class="dir">${htmlEscape(d.dir)}</div></td>` +
        `<td>${hex(d.vendorId)} / ${hex(d.productId)}</td><td>${htmlEscape(d.serialNumber ?? "–")}</td><td>${htmlEscape(sw)}</td>` +
        `<td>${d.checks.map(checkChip).join(" ")}${why}</td></tr>\n` +
        `<tr class="more"><td></td><td colspan="5">${details(d)}</td></tr>`
    );
}

export function toHtml(result: RunResult, title = "mfgsim report"): string {
    const { total, passed, failed } = result.summary;
    const devices = [...result.devices].sort((a, b) => (a.status === b.status ? 0 : a.status === "fail" ? -1 : 1));
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${htmlEscape(title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}h4{margin:.6em 0 .2em}.sum{font-size:1.1em;margin-bottom:1em}.sum .bad{color:#b00020;font-weight:bold}.sum .good{color:#0a7d32;font-weight:bold}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:6px 8px;text-align:left;vertical-align:top}
tr.fail td.st{color:#b00020;font-weight:bold}tr.pass td.st{color:#0a7d32}
.chk{display:inline-block;border-radius:3px;padding:1px 5px;margin:1px;font-size:12px}
.chk.pass{background:#dff5e3}.chk.fail{background:#fbd5d9}.chk.skip{background:#eee;color:#777}
.dir{color:#777;font-size:12px}.why{margin:4px 0 0 0;padding-left:1.2em;color:#b00020}code{font-size:13px}
details{margin-top:4px}summary{cursor:pointer;color:#555;font-size:12px}
tr.more>td{border-bottom:1px solid #ddd;padding-top:0}tr:has(+tr.more)>td{border-bottom:none}
.dev{display:flex;gap:1.5em;align-items:flex-start;margin-top:4px}.dev>div{flex:1;min-width:0}.dev>.label{flex:none}.label{text-align:center;font-size:11px}.label svg{display:block}
table.checks{font-size:12px;width:100%}table.checks td{padding:2px 6px}table.checks tr.fail td{color:#b00020}table.checks tr.skip td{color:#888}td.ms{text-align:right}
pre.log{background:#111;color:#ddd;padding:6px 8px;font-size:11px;max-height:20em;overflow:auto;white-space:pre-wrap}pre.log .e{color:#ff7b7b}pre.log .w{color:#ffd479}
</style></head><body>
<h1>${htmlEscape(title)}</h1>
<div class="sum">${total} device${total === 1 ? "" : "s"}: <span class="good">${passed} passed</span>, <span class="${failed ? "bad" : "good"}">${failed} failed</span>
 · started ${htmlEscape(result.startedAt)} · ${(result.durationMs / 1000).toFixed(1)} s${result.shard ? ` · shard ${htmlEscape(result.shard)}` : ""} · mfgsim ${htmlEscape(result.version)}</div>
<table><thead><tr><th>status</th><th>device</th><th>VID / PID</th><th>serial</th><th>software version</th><th>checks</th></tr></thead>
<tbody>
${devices.map(deviceRow).join("\n")}
</tbody></table></body></html>
`;
}
