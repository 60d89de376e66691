/**
 * A self-contained HTML report (no scripts, no external assets): a summary line, then one row per device with
 * its checks; failed devices first and expanded, so the first screen answers "what failed and why".
 */
import type { CheckResult, DeviceResult, RunResult } from "./result.js";

export function htmlEscape(s: string): string {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

const hex = (n: number | null) => (n === null ? "–" : `0x${n.toString(16).toUpperCase().padStart(4, "0")}`);

function checkCell(c: CheckResult): string {
    const title = c.detail ? ` title="${htmlEscape(c.detail)}"` : "";
    return `<span class="chk ${c.status}"${title}>${htmlEscape(c.name)}</span>`;
}

function deviceRow(d: DeviceResult): string {
    const failed = d.checks.filter(c => c.status === "fail");
    const details = failed.length
        ? `<ul class="why">${failed.map(c => `<li><b>${htmlEscape(c.name)}</b>: ${htmlEscape(c.detail)}</li>`).join("")}</ul>`
        : "";
    const sw =
        d.softwareVersionAfterOta !== null
            ? `${d.softwareVersion ?? "–"} → ${d.softwareVersionAfterOta}`
            : `${d.softwareVersion ?? "–"}`;
    return (
        `<tr class="${d.status}"><td class="st">${d.status.toUpperCase()}</td>` +
        `<td><code>${htmlEscape(d.id)}</code><div class="dir">${htmlEscape(d.dir)}</div></td>` +
        `<td>${hex(d.vendorId)} / ${hex(d.productId)}</td><td>${htmlEscape(d.serialNumber ?? "–")}</td><td>${htmlEscape(sw)}</td>` +
        `<td>${d.checks.map(checkCell).join(" ")}${details}</td></tr>`
    );
}

export function toHtml(result: RunResult, title = "mfgsim report"): string {
    const { total, passed, failed } = result.summary;
    const devices = [...result.devices].sort((a, b) => (a.status === b.status ? 0 : a.status === "fail" ? -1 : 1));
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${htmlEscape(title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}.sum{font-size:1.1em;margin-bottom:1em}.sum .bad{color:#b00020;font-weight:bold}.sum .good{color:#0a7d32;font-weight:bold}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:6px 8px;text-align:left;vertical-align:top}
tr.fail td.st{color:#b00020;font-weight:bold}tr.pass td.st{color:#0a7d32}
.chk{display:inline-block;border-radius:3px;padding:1px 5px;margin:1px;font-size:12px}
.chk.pass{background:#dff5e3}.chk.fail{background:#fbd5d9}.chk.skip{background:#eee;color:#777}
.dir{color:#777;font-size:12px}.why{margin:4px 0 0 0;padding-left:1.2em;color:#b00020}code{font-size:13px}
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
