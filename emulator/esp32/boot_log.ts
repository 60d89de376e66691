/**
 * ESP_LOG-style console lines (`I (31) boot: …`) with a deterministic millisecond clock: every line advances the
 * clock by the time it takes to print at 115200 baud (≈ 0.087 ms per character) plus whatever work the caller
 * says it did (`advance`), so the same boot prints the same timestamps on every run.
 */

export type LogLevel = "E" | "W" | "I" | "D" | "V";

export interface LogEntry {
    level: LogLevel | "ROM";
    /** ms timestamp (ROM lines: undefined). */
    ms?: number;
    tag?: string;
    message: string;
    /** The formatted line. */
    line: string;
}

/** Bits per character on a UART at 8N1. */
const BITS_PER_CHAR = 10;
const BAUD = 115200;

export class BootLog {
    readonly entries: LogEntry[] = [];
    private clockUs: number;
    /** Lines below this level are kept in `entries` but not in `lines` (CONFIG_LOG_DEFAULT_LEVEL_INFO). */
    readonly level: LogLevel;

    constructor(options: { startMs?: number; level?: LogLevel } = {}) {
        this.clockUs = (options.startMs ?? 24) * 1000;
        this.level = options.level ?? "I";
    }

    /** esp_log_timestamp(): ms since the 2nd-stage bootloader started. */
    get ms(): number {
        return Math.floor(this.clockUs / 1000);
    }

    /** Work that takes time (hashing an image, mounting NVS): advances the clock. */
    advance(ms: number): void {
        if (Number.isFinite(ms) && ms > 0) this.clockUs += Math.round(ms * 1000);
    }

    /** A ROM line (no timestamp, printed before the 2nd-stage bootloader runs). */
    rom(message: string): void {
        this.entries.push({ level: "ROM", message, line: message });
        this.tick(message.length + 2);
    }

    log(level: LogLevel, tag: string, message: string): void {
        const line = `${level} (${this.ms}) ${tag}: ${message}`;
        this.entries.push({ level, ms: this.ms, tag, message, line });
        if (shown(level, this.level)) this.tick(line.length + 2);
    }

    e(tag: string, message: string): void {
        this.log("E", tag, message);
    }
    w(tag: string, message: string): void {
        this.log("W", tag, message);
    }
    i(tag: string, message: string): void {
        this.log("I", tag, message);
    }
    d(tag: string, message: string): void {
        this.log("D", tag, message);
    }

    /** The console as a user sees it at the configured level. */
    get lines(): string[] {
        return this.entries.filter(e => e.level === "ROM" || shown(e.level, this.level)).map(e => e.line);
    }

    private tick(chars: number): void {
        this.clockUs += Math.round((chars * BITS_PER_CHAR * 1e6) / BAUD);
    }
}

const ORDER: Record<LogLevel, number> = { E: 1, W: 2, I: 3, D: 4, V: 5 };

function shown(level: LogLevel, max: LogLevel): boolean {
    return ORDER[level] <= ORDER[max];
}
