/**
 * JUnit XML for CI (Jenkins, GitLab, GitHub test reporters): one <testsuite> per device, one <testcase> per
 * check, so a failing device shows which check failed and why (the detail with its ESP-IDF / CHIP error name).
 */
import type { RunResult } from "./result.js";

export function xmlEscape(s: string): string {
    // Characters XML 1.0 cannot carry at all are dropped; markup characters are escaped.
    return s
        .replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "")
        .replace(/&/g, "&amp;")
        .replace(/</g, "&lt;")
        .replace(/>/g, "&gt;")
        .replace(/"/g, "&quot;")
        .replace(/'/g, "&apos;");
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

export function toJUnit(result: RunResult, suiteName = "mfgsim"): string {
    const lines = ['<?xml version="1.0" encoding="UTF-8"?>'];
    const checks = result.devices.flatMap(d => d.checks);
    const failures = checks.filter(c => c.status === "fail").length;
    const skipped = checks.filter(c => c.status === "skip").length;
    lines.push(
        `<testsuites name="${xmlEscape(suiteName)}" tests="${checks.length}" failures="${failures}" skipped="${skipped}" ` +
            `errors="0" time="${seconds(result.durationMs)}">`,
    );
    for (const device of result.devices) {
        const f = device.checks.filter(c => c.status === "fail").length;
        const s = device.checks.filter(c => c.status === "skip").length;
        const time = device.checks.reduce((t, c) => t + c.ms, 0);
        lines.push(
            `  <testsuite name="${xmlEscape(device.id)}" tests="${device.checks.length}" failures="${f}" skipped="${s}" ` +
                `errors="0" time="${seconds(time)}" timestamp="${xmlEscape(result.startedAt)}">`,
        );
        const props: Array<[string, unknown]> = [
            ["dir", device.dir],
            ["vendorId", device.vendorId],
            ["productId", device.productId],
            ["serialNumber", device.serialNumber],
            ["softwareVersion", device.softwareVersion],
            ["softwareVersionAfterOta", device.softwareVersionAfterOta],
        ];
        lines.push("    <properties>");
        for (const [name, value] of props) {
            if (value !== null && value !== undefined && value !== "") {
                lines.push(`      <property name="${name}" value="${xmlEscape(String(value))}"/>`);
            }
        }
        lines.push("    </properties>");
        for (const check of device.checks) {
            const open = `    <testcase classname="${xmlEscape(device.id)}" name="${xmlEscape(check.name)}" time="${seconds(check.ms)}"`;
            if (check.status === "pass") {
                lines.push(`${open}/>`);
            } else if (check.status === "skip") {
                lines.push(`${open}><skipped message="${xmlEscape(check.detail)}"/></testcase>`);
            } else {
                const type = /^[A-Za-z_][A-Za-z0-9_]*/.exec(check.detail)?.[0] ?? "failure";
                lines.push(
                    `${open}><failure type="${xmlEscape(type)}" message="${xmlEscape(check.detail)}">` +
                        `${xmlEscape(check.detail)}</failure></testcase>`,
                );
            }
        }
        lines.push("  </testsuite>");
    }
    lines.push("</testsuites>");
    return lines.join("\n") + "\n";
}
