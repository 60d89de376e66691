import { expect } from "chai";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { fsDiagnostic, writeFileAtomic, writeFileAtomicSync } from "./io.js";
import { errorOf } from "./testing.js";

describe("cli/io atomic writes", () => {
    let dir: string;
    beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), "mfgsim-io-"));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    const variants: Array<[string, (path: string, data: string, mode?: number) => Promise<void>]> = [
        ["writeFileAtomic", (p, d, mode) => writeFileAtomic(p, d, mode === undefined ? {} : { mode })],
        ["writeFileAtomicSync", async (p, d, mode) => writeFileAtomicSync(p, d, mode === undefined ? {} : { mode })],
    ];
    for (const [name, write] of variants) {
        describe(name, () => {
            it("writes the mode asked for whatever the umask, creating parent directories", async () => {
                const old = process.umask(0o077);
                try {
                    await write(join(dir, "a", "b", "public.txt"), "x", 0o644);
                } finally {
                    process.umask(old);
                }
                await write(join(dir, "private.txt"), "secret", 0o600);
                expect(statSync(join(dir, "a", "b", "public.txt")).mode & 0o777).to.equal(0o644);
                expect(statSync(join(dir, "private.txt")).mode & 0o777).to.equal(0o600);
                expect(readFileSync(join(dir, "private.txt"), "utf8")).to.equal("secret");
            });

            it("replaces an existing file whole and leaves no temp file", async () => {
                writeFileSync(join(dir, "f.csv"), "old content that is longer");
                await write(join(dir, "f.csv"), "new");
                expect(readFileSync(join(dir, "f.csv"), "utf8")).to.equal("new");
                expect(readdirSync(dir)).to.deep.equal(["f.csv"]);
            });

            it("fails with a DiagnosticError naming the file, and leaves nothing behind", async () => {
                mkdirSync(join(dir, "ro"));
                writeFileSync(join(dir, "ro", "keep.txt"), "kept");
                chmodSync(join(dir, "ro"), 0o500);
                const target = join(dir, "ro", "keep.txt");
                const err = await errorOf(() => write(target, "lost?"));
                chmodSync(join(dir, "ro"), 0o700);
                if (process.getuid?.() === 0) {
                    // root ignores directory permissions: the write succeeds, atomically
                    expect(err).to.equal(undefined);
                    expect(readFileSync(target, "utf8")).to.equal("lost?");
                } else {
                    expect(err).to.be.instanceOf(DiagnosticError);
                    expect((err as DiagnosticError).message).to.match(/cannot write/);
                    expect((err as DiagnosticError).context.file).to.equal(target);
                    expect(readFileSync(target, "utf8")).to.equal("kept");
                }
                expect(readdirSync(join(dir, "ro"))).to.deep.equal(["keep.txt"]);
            });

            it("fails cleanly when the parent is a file", async () => {
                writeFileSync(join(dir, "plain"), "x");
                const target = join(dir, "plain", "child.txt");
                const err = await errorOf(() => write(target, "y"));
                expect(err).to.be.instanceOf(DiagnosticError);
                expect((err as DiagnosticError).context.file).to.equal(target);
                expect(readdirSync(dir)).to.deep.equal(["plain"]);
            });
        });
    }

    describe("fsDiagnostic", () => {
        it("turns a file-system error with a path into a one-line DiagnosticError naming it", () => {
            const e = Object.assign(new Error("ENOTDIR: not a directory, lstat 'a/b'"), { code: "ENOTDIR", syscall: "lstat", path: "a/b" });
            const d = fsDiagnostic(e)!;
            expect(d).to.be.instanceOf(DiagnosticError);
            expect(d.code).to.equal("ENOTDIR");
            expect(d.context.file).to.equal("a/b");
            expect(d.oneLine()).to.contain("a parent is not a directory");
            expect(d.exitCode).to.equal(2);
        });

        it("leaves everything else alone (a bug stays an internal error)", () => {
            expect(fsDiagnostic(new TypeError("x is undefined"))).to.equal(undefined);
            expect(fsDiagnostic(Object.assign(new Error("no path"), { code: "ENOENT" }))).to.equal(undefined);
            expect(fsDiagnostic(Object.assign(new Error("socket"), { code: "ECONNRESET", path: "/x" }))).to.equal(undefined);
            expect(fsDiagnostic("ENOENT")).to.equal(undefined);
        });
    });
});
