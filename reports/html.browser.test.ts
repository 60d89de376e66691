/**
 * The HTML report in a real browser (Debian chromium driven by playwright-core): it renders, the failed device is
 * expanded with its failure and console, and the label's QR code in the page decodes back to the payload. Skipped
 * when chromium is not installed (.ci/run installs it).
 */
import { expect } from "chai";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import jsQRModule from "jsqr";
import { PNG } from "pngjs";
import { REPO_ROOT } from "../emulator/testing/vectors.js";
import { deviceStatus, makeRunResult, toHtml, type CheckResult, type DeviceResult } from "./index.js";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find(p => existsSync(p));
const jsQR = jsQRModule as unknown as (data: Uint8ClampedArray, w: number, h: number) => { data: string } | null;

function device(id: string, qrCode: string, checks: CheckResult[], bootLog: string[]): DeviceResult {
    return { id, dir: `out/fff1_8000/${id}`, status: deviceStatus(checks), checks, vendorId: 0xfff1, productId: 0x8000, serialNumber: `SN-${id}`, softwareVersion: 1, softwareVersionAfterOta: null, qrCode, bootLog };
}

(CHROMIUM ? describe : describe.skip)(`HTML report in headless chromium${CHROMIUM ? "" : " (skipped: chromium not installed)"}`, function () {
    this.timeout(60_000);

    it("renders the summary, expands the failed device with its console, and its QR label decodes", async () => {
        const { chromium } = await import("playwright-core");
        const qr = "MT:Y.K9042C00KA0648G00";
        const result = makeRunResult({
            version: "0.1.0",
            startedAt: "2026-11-25T07:00:00.000Z",
            durationMs: 1234,
            shard: null,
            devices: [
                device("good", "MT:-24J0AFN00KA0648G00", [{ name: "attestation", status: "pass", detail: "Success", ms: 40 }], ["I (31) boot: ESP-IDF v5.5.1 2nd stage bootloader"]),
                device("bad", qr, [{ name: "factory.read", status: "fail", detail: "ESP_ERR_NVS_NOT_FOUND: reading dac-cert from fctry <script>", ms: 3 }], [
                    "I (31) boot: ESP-IDF v5.5.1 2nd stage bootloader",
                    "E (217) chip[DL]: ESP_ERR_NVS_NOT_FOUND reading dac-cert from fctry",
                ]),
            ],
        });
        const dir = join(REPO_ROOT, "reports", "out", "test");
        await mkdir(dir, { recursive: true });
        const file = join(dir, "report.html");
        await writeFile(file, toHtml(result, "mfgsim test report"));

        const browser = await chromium.launch({
            executablePath: CHROMIUM,
            args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        try {
            const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
            await page.goto(`file://${file}`);
            expect(await page.title()).to.equal("mfgsim test report");
            const text = await page.innerText("body");
            expect(text).to.contain("2 devices: 1 passed, 1 failed");
            expect(text).to.contain("ESP_ERR_NVS_NOT_FOUND: reading dac-cert from fctry <script>"); // escaped, shown as text
            expect(await page.locator("script").count()).to.equal(0);
            const rows = page.locator("tbody > tr");
            expect(await rows.first().innerText()).to.match(/^FAIL/); // failed devices first (each device: its row, then its details row)
            expect(await page.locator("details[open] pre.log .e").innerText()).to.contain("reading dac-cert from fctry");
            await page.screenshot({ path: join(dir, "report.png"), fullPage: true });
            const svg = page.locator("details[open] .label svg");
            const png = PNG.sync.read(await svg.screenshot());
            expect(jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data).to.equal(qr);
        } finally {
            await browser.close();
        }
    });
});
