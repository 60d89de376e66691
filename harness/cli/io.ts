/**
 * File I/O for the CLI and for library functions that write user files: atomic writes (temp file + rename, so
 * no partial output is ever left behind), private-key writes with mode 0600, and reads whose failures name
 * the file instead of throwing a bare ENOENT.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { DiagnosticError } from "../../emulator/esp_common/err.js";

export interface WriteOptions {
    /** File mode; private keys use 0o600. Default 0o644. */
    mode?: number;
    /** Create missing parent directories. Default true. */
    mkdirs?: boolean;
}

/** Writes `data` to `path` atomically: a temp file in the same directory, fsync, then rename. */
export async function writeFileAtomic(path: string, data: Uint8Array | string, options: WriteOptions = {}): Promise<void> {
    const { mode = 0o644, mkdirs = true } = options;
    const dir = dirname(path);
    const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
    try {
        if (mkdirs) await mkdir(dir, { recursive: true });
        const handle = await open(tmp, "wx", mode);
        try {
            await handle.writeFile(data);
            await handle.chmod(mode); // open()'s mode is filtered by the umask; a key file must end up exactly 0600
            await handle.sync();
        } finally {
            await handle.close();
        }
        await rename(tmp, path);
    } catch (e) {
        await rm(tmp, { force: true }).catch(() => undefined); // e.g. ENOTDIR: there was no temp file to remove
        throw ioError(e, path, "write");
    }
}

/**
 * writeFileAtomic without the thread-pool round trips (open, write, chmod, fsync, close, rename: six hops each): for
 * a caller that has nothing else to do meanwhile, e.g. `generate` writing its batch files after the last device,
 * when every millisecond is one the other cores sit idle. `data` may come in string chunks (a file too big for one).
 */
export function writeFileAtomicSync(path: string, data: Uint8Array | string | Iterable<string>, options: WriteOptions = {}): void {
    const { mode = 0o644, mkdirs = true } = options;
    const dir = dirname(path);
    const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
    try {
        if (mkdirs) mkdirSync(dir, { recursive: true });
        const fd = openSync(tmp, "wx", mode);
        try {
            // chunks: a file larger than the longest string V8 makes (2^29 characters) is written piece by piece
            if (typeof data === "string" || data instanceof Uint8Array) writeFileSync(fd, data);
            else for (const chunk of data) writeFileSync(fd, chunk);
            fchmodSync(fd, mode); // as writeFileAtomic: exactly `mode`, whatever the umask
            fsyncSync(fd);
        } finally {
            closeSync(fd);
        }
        renameSync(tmp, path);
    } catch (e) {
        try {
            rmSync(tmp, { force: true });
        } catch {
            // e.g. ENOTDIR: there was no temp file to remove
        }
        throw ioError(e, path, "write");
    }
}

/** Writes a private key: atomic and mode 0600. */
export function writePrivateFile(path: string, data: Uint8Array | string): Promise<void> {
    return writeFileAtomic(path, data, { mode: 0o600 });
}

/** Reads a whole file; a missing or unreadable file becomes a one-line DiagnosticError naming it. */
export async function readInput(path: string, what = "input file"): Promise<Buffer> {
    try {
        return await readFile(path);
    } catch (e) {
        throw ioError(e, path, `read ${what}`);
    }
}

export async function readTextInput(path: string, what = "input file"): Promise<string> {
    return (await readInput(path, what)).toString("utf8");
}

export async function isDirectory(path: string): Promise<boolean> {
    try {
        return (await stat(path)).isDirectory();
    } catch {
        return false;
    }
}

function ioError(e: unknown, file: string, action: string): DiagnosticError {
    if (e instanceof DiagnosticError) return e;
    const err = e as NodeJS.ErrnoException;
    return new DiagnosticError(err.code ?? "EIO", `cannot ${action}: ${fsReason(err)}`, { file });
}

/** The reason of a file-system error in words (the errno name goes in the error code). */
export function fsReason(err: NodeJS.ErrnoException): string {
    switch (err.code) {
        case "ENOENT":
            return "no such file or directory";
        case "EACCES":
        case "EPERM":
            return "permission denied";
        case "EISDIR":
            return "is a directory";
        case "ENOTDIR":
            return "a parent is not a directory";
        case "EEXIST":
            return err.syscall === "mkdir" ? "a part of the path is a file" : "already exists";
        case "EROFS":
            return "read-only file system";
        case "ENOSPC":
            return "no space left on the device";
        case "EDQUOT":
            return "disk quota exceeded";
        default:
            return err.message;
    }
}

const FS_ERRNOS = new Set(["ENOENT", "EACCES", "EPERM", "EISDIR", "ENOTDIR", "EEXIST", "EROFS", "ENOSPC", "EDQUOT", "ENAMETOOLONG", "ELOOP", "EMFILE"]);

/**
 * A file-system error that escaped a command (a path the user gave is a file, unwritable, full…) as a one-line
 * DiagnosticError naming the path, or undefined for anything else (a bug: reported as an internal error).
 */
export function fsDiagnostic(e: unknown): DiagnosticError | undefined {
    const err = e as NodeJS.ErrnoException;
    if (!(e instanceof Error) || typeof err.code !== "string" || !FS_ERRNOS.has(err.code) || typeof err.path !== "string") return undefined;
    const what = err.syscall === "open" || err.syscall === "write" || err.syscall === "rename" ? "write" : err.syscall === "mkdir" ? "create a directory" : "use the path";
    return new DiagnosticError(err.code, `cannot ${what}: ${fsReason(err)}`, { file: err.path });
}

/** Runs `f` (a decoder of `file`'s content); a DiagnosticError it throws names the file. */
export function inFile<T>(file: string, f: () => T): T {
    try {
        return f();
    } catch (e) {
        throw e instanceof DiagnosticError ? e.withContext({ file }) : e;
    }
}
