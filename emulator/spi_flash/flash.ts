/**
 * A NOR flash chip as esp_flash sees it (components/spi_flash): erased state 0xFF, 4 KiB sector erase, page
 * program that can only clear bits, and a log of every program/erase. Fault injection for tests of
 * power-fail safety: a power loss during the Nth write/erase (that operation is torn — partially applied, the
 * same way for the same seed) and bit flips at chosen offsets. Everything is deterministic from `seed`.
 */
import { DiagnosticError, EspError } from "../esp_common/err.js";
import { prng } from "../esp_common/prng.js";

export const SECTOR_SIZE = 0x1000;
export const MIN_FLASH_SIZE = 2 * 1024 * 1024;
export const MAX_FLASH_SIZE = 16 * 1024 * 1024;

/** What NVS, otadata and the boot code need from flash (a partition or the whole chip). */
export interface FlashIo {
    readonly size: number;
    read(offset: number, length: number): Uint8Array;
    write(offset: number, data: Uint8Array): void;
    erase(offset: number, length: number): void;
}

export interface FlashOpRecord {
    /** 1-based operation number (writes and erases count together). */
    index: number;
    kind: "write" | "erase";
    /** Absolute flash address. */
    offset: number;
    length: number;
    /** The data programmed (writes only). */
    data?: Uint8Array;
    /** True when power was lost during this operation. */
    torn?: boolean;
}

/** The operation that was interrupted by an injected power loss; every later operation fails until powerOn(). */
export class PowerLossError extends DiagnosticError {
    override name = "PowerLossError";
    readonly op: FlashOpRecord;
    constructor(op: FlashOpRecord) {
        super("POWER_LOSS", `power lost during flash ${op.kind} #${op.index} at 0x${op.offset.toString(16)} (+0x${op.length.toString(16)})`, {
            offset: op.offset,
        });
        this.op = op;
    }
}

export interface NorFlashOptions {
    /** Chip size in bytes, 2–16 MiB and a multiple of 4 KiB (default 4 MiB). */
    size?: number;
    /** Initial contents (copied; shorter images are padded with 0xFF). */
    image?: Uint8Array;
    /** Writing a 1 over a 0: "and" (default, what the chip does: the bit stays 0) or "error". */
    overwrite?: "and" | "error";
    /** Seed for torn operations. */
    seed?: number;
    /** Allow sizes outside 2–16 MiB (small test flashes). */
    anySize?: boolean;
}

export class NorFlash implements FlashIo {
    readonly size: number;
    readonly overwrite: "and" | "error";
    readonly seed: number;
    private readonly mem: Uint8Array;
    private readonly ops: FlashOpRecord[] = [];
    private opCounter = 0;
    private powerLossAt: number | undefined;
    private off = false;

    constructor(options: NorFlashOptions = {}) {
        const size = options.size ?? 4 * 1024 * 1024;
        if (!Number.isSafeInteger(size) || size <= 0 || size % SECTOR_SIZE !== 0 || (!options.anySize && (size < MIN_FLASH_SIZE || size > MAX_FLASH_SIZE))) {
            throw new EspError("ESP_ERR_INVALID_SIZE", `flash size 0x${size.toString(16)} must be a multiple of 4 KiB between 2 MiB and 16 MiB`);
        }
        if (options.image && options.image.length > size) {
            throw new EspError("ESP_ERR_INVALID_SIZE", `image of 0x${options.image.length.toString(16)} bytes does not fit a 0x${size.toString(16)}-byte flash`);
        }
        this.size = size;
        this.overwrite = options.overwrite ?? "and";
        this.seed = options.seed ?? 1;
        this.mem = new Uint8Array(size).fill(0xff);
        if (options.image) this.mem.set(options.image);
    }

    /** Every write/erase so far (including a torn one). */
    get log(): readonly FlashOpRecord[] {
        return this.ops;
    }

    /** Number of write/erase operations attempted so far. */
    get opCount(): number {
        return this.opCounter;
    }

    get poweredOff(): boolean {
        return this.off;
    }

    /** A copy of the whole chip. */
    snapshot(): Uint8Array {
        return this.mem.slice();
    }

    /** Power is lost during operation number `n` (1-based, counted from the start); undefined cancels. */
    schedulePowerLoss(n: number | undefined): void {
        this.powerLossAt = n;
    }

    /** Restores power after an injected loss (contents stay as the torn operation left them). */
    powerOn(): void {
        this.off = false;
        this.powerLossAt = undefined;
    }

    /** Flips bits right now (a retention fault / cosmic ray): `bit` 0..7 at `offset`, XOR. */
    flipBits(flips: ReadonlyArray<{ offset: number; bit: number }>): void {
        for (const { offset, bit } of flips) {
            this.check(offset, 1, "bit flip");
            if (!Number.isInteger(bit) || bit < 0 || bit > 7) throw new EspError("ESP_ERR_INVALID_ARG", `bit ${bit} must be 0..7`);
            this.mem[offset]! ^= 1 << bit;
        }
    }

    read(offset: number, length: number): Uint8Array {
        this.check(offset, length, "read");
        if (this.off) throw new EspError("ESP_ERR_FLASH_OP_FAIL", "flash read while powered off (call powerOn())", { offset });
        return this.mem.slice(offset, offset + length);
    }

    write(offset: number, data: Uint8Array): void {
        this.check(offset, data.length, "write");
        this.guardPower(offset);
        if (this.overwrite === "error") {
            for (let i = 0; i < data.length; i++) {
                if (data[i]! & ~this.mem[offset + i]! & 0xff) {
                    throw new EspError(
                        "ESP_ERR_FLASH_OP_FAIL",
                        `write would set bits at 0x${(offset + i).toString(16)} (0x${this.mem[offset + i]!.toString(16)} → 0x${data[i]!.toString(16)}): NOR flash needs an erase first`,
                        { offset: offset + i },
                    );
                }
            }
        }
        const op: FlashOpRecord = { index: ++this.opCounter, kind: "write", offset, length: data.length, data: new Uint8Array(data) };
        this.ops.push(op);
        if (this.powerLossAt === op.index) {
            const rnd = prng(this.seed ^ Math.imul(op.index, 0x9e3779b1));
            const done = Math.floor(rnd() * data.length);
            for (let i = 0; i < done; i++) this.mem[offset + i]! &= data[i]!;
            if (done < data.length) this.mem[offset + done]! &= data[done]! | Math.floor(rnd() * 256);
            this.tear(op);
        }
        for (let i = 0; i < data.length; i++) this.mem[offset + i]! &= data[i]!;
    }

    erase(offset: number, length: number): void {
        this.check(offset, length, "erase");
        if (offset % SECTOR_SIZE !== 0 || length % SECTOR_SIZE !== 0) {
            throw new EspError("ESP_ERR_INVALID_ARG", `erase 0x${offset.toString(16)}+0x${length.toString(16)} is not 4 KiB sector aligned`, { offset });
        }
        this.guardPower(offset);
        const op: FlashOpRecord = { index: ++this.opCounter, kind: "erase", offset, length };
        this.ops.push(op);
        if (this.powerLossAt === op.index) {
            const rnd = prng(this.seed ^ Math.imul(op.index, 0x9e3779b1));
            const sectors = length / SECTOR_SIZE;
            const done = Math.floor(rnd() * sectors);
            this.mem.fill(0xff, offset, offset + done * SECTOR_SIZE);
            if (done < sectors) {
                const s = offset + done * SECTOR_SIZE;
                for (let i = 0; i < SECTOR_SIZE; i++) this.mem[s + i]! |= Math.floor(rnd() * 256);
            }
            this.tear(op);
        }
        this.mem.fill(0xff, offset, offset + length);
    }

    /** A window of the chip (a partition) with offsets relative to `offset`. */
    region(offset: number, size: number): FlashRegion {
        this.check(offset, size, "region");
        return new FlashRegion(this, offset, size);
    }

    private tear(op: FlashOpRecord): never {
        op.torn = true;
        this.off = true;
        this.powerLossAt = undefined;
        throw new PowerLossError(op);
    }

    private guardPower(offset: number): void {
        if (this.off) throw new EspError("ESP_ERR_FLASH_OP_FAIL", "flash operation while powered off (call powerOn())", { offset });
    }

    private check(offset: number, length: number, what: string): void {
        if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
            throw new EspError(
                "ESP_ERR_INVALID_SIZE",
                `flash ${what} 0x${Number(offset).toString(16)}+0x${Number(length).toString(16)} is outside the 0x${this.size.toString(16)}-byte chip`,
                Number.isSafeInteger(offset) ? { offset } : {},
            );
        }
    }
}

/** A partition-sized view of a FlashIo (esp_partition_read/write/erase_range semantics: bounds are the partition's). */
export class FlashRegion implements FlashIo {
    constructor(
        readonly parent: FlashIo,
        readonly offset: number,
        readonly size: number,
    ) {}

    read(offset: number, length: number): Uint8Array {
        this.check(offset, length, "read");
        return this.parent.read(this.offset + offset, length);
    }

    write(offset: number, data: Uint8Array): void {
        this.check(offset, data.length, "write");
        this.parent.write(this.offset + offset, data);
    }

    erase(offset: number, length: number): void {
        this.check(offset, length, "erase");
        this.parent.erase(this.offset + offset, length);
    }

    region(offset: number, size: number): FlashRegion {
        this.check(offset, size, "region");
        return new FlashRegion(this, offset, size);
    }

    private check(offset: number, length: number, what: string): void {
        if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
            throw new EspError(
                "ESP_ERR_INVALID_SIZE",
                `${what} 0x${Number(offset).toString(16)}+0x${Number(length).toString(16)} is outside the partition (0x${this.size.toString(16)} bytes at 0x${this.offset.toString(16)})`,
            );
        }
    }
}

/** A FlashIo over a plain byte array (no log, AND semantics): handy for codecs and tests. */
export function memoryFlash(bytes: Uint8Array): FlashIo {
    const check = (offset: number, length: number): void => {
        if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > bytes.length) {
            throw new EspError("ESP_ERR_INVALID_SIZE", `0x${Number(offset).toString(16)}+0x${Number(length).toString(16)} is outside 0x${bytes.length.toString(16)} bytes`);
        }
    };
    return {
        size: bytes.length,
        read: (o, l) => (check(o, l), new Uint8Array(bytes.subarray(o, o + l))),
        write: (o, d) => {
            check(o, d.length);
            for (let i = 0; i < d.length; i++) bytes[o + i]! &= d[i]!;
        },
        erase: (o, l) => {
            check(o, l);
            if (o % SECTOR_SIZE || l % SECTOR_SIZE) throw new EspError("ESP_ERR_INVALID_ARG", `erase 0x${o.toString(16)}+0x${l.toString(16)} is not sector aligned`);
            bytes.fill(0xff, o, o + l);
        },
    };
}
