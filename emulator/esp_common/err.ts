/**
 * Errors with a name users can grep for, like ESP-IDF's esp_err_t (components/esp_common/include/esp_err.h,
 * nvs_flash/include/nvs.h) and CHIP's AttestationVerificationResult / CHIP_ERROR names.
 *
 * Every decoder and encoder in mfgsim throws a `DiagnosticError` (or a subclass) for bad input, never a bare
 * Error: the CLI turns it into one line on stderr (`file: offset 0x1000: ESP_ERR_NVS_CORRUPT_KEY_PART: …`)
 * and exit code 2 (or 1 for a failed check), and tests assert on `.code`.
 */

/** esp_err_t values of the names mfgsim reports. */
export const ESP_ERR = {
    ESP_FAIL: -1,
    ESP_ERR_NO_MEM: 0x101,
    ESP_ERR_INVALID_ARG: 0x102,
    ESP_ERR_INVALID_STATE: 0x103,
    ESP_ERR_INVALID_SIZE: 0x104,
    ESP_ERR_NOT_FOUND: 0x105,
    ESP_ERR_NOT_SUPPORTED: 0x106,
    ESP_ERR_TIMEOUT: 0x107,
    ESP_ERR_INVALID_RESPONSE: 0x108,
    ESP_ERR_INVALID_CRC: 0x109,
    ESP_ERR_INVALID_VERSION: 0x10a,
    ESP_ERR_INVALID_MAC: 0x10b,
    ESP_ERR_NOT_FINISHED: 0x10c,
    ESP_ERR_NOT_ALLOWED: 0x10d,
    ESP_ERR_NVS_NOT_INITIALIZED: 0x1101,
    ESP_ERR_NVS_NOT_FOUND: 0x1102,
    ESP_ERR_NVS_TYPE_MISMATCH: 0x1103,
    ESP_ERR_NVS_READ_ONLY: 0x1104,
    ESP_ERR_NVS_NOT_ENOUGH_SPACE: 0x1105,
    ESP_ERR_NVS_INVALID_NAME: 0x1106,
    ESP_ERR_NVS_INVALID_HANDLE: 0x1107,
    ESP_ERR_NVS_REMOVE_FAILED: 0x1108,
    ESP_ERR_NVS_KEY_TOO_LONG: 0x1109,
    ESP_ERR_NVS_PAGE_FULL: 0x110a,
    ESP_ERR_NVS_INVALID_STATE: 0x110b,
    ESP_ERR_NVS_INVALID_LENGTH: 0x110c,
    ESP_ERR_NVS_NO_FREE_PAGES: 0x110d,
    ESP_ERR_NVS_VALUE_TOO_LONG: 0x110e,
    ESP_ERR_NVS_PART_NOT_FOUND: 0x110f,
    ESP_ERR_NVS_NEW_VERSION_FOUND: 0x1110,
    ESP_ERR_NVS_XTS_ENCR_FAILED: 0x1111,
    ESP_ERR_NVS_XTS_DECR_FAILED: 0x1112,
    ESP_ERR_NVS_XTS_CFG_FAILED: 0x1113,
    ESP_ERR_NVS_XTS_CFG_NOT_FOUND: 0x1114,
    ESP_ERR_NVS_ENCR_NOT_SUPPORTED: 0x1115,
    ESP_ERR_NVS_KEYS_NOT_INITIALIZED: 0x1116,
    ESP_ERR_NVS_CORRUPT_KEY_PART: 0x1117,
    ESP_ERR_NVS_CONTENT_DIFFERS: 0x1118,
    ESP_ERR_NVS_WRONG_ENCRYPTION: 0x1119,
    ESP_ERR_FLASH_OP_FAIL: 0x6001,
    ESP_ERR_OTA_PARTITION_CONFLICT: 0x1501,
    ESP_ERR_OTA_SELECT_INFO_INVALID: 0x1502,
    ESP_ERR_OTA_VALIDATE_FAILED: 0x1503,
    ESP_ERR_OTA_SMALL_SEC_VER: 0x1504,
    ESP_ERR_OTA_ROLLBACK_FAILED: 0x1505,
    ESP_ERR_OTA_ROLLBACK_INVALID_STATE: 0x1506,
    ESP_ERR_IMAGE_INVALID: 0x2002,
    ESP_ERR_IMAGE_FLASH_FAIL: 0x2001,
} as const;

export type EspErrName = keyof typeof ESP_ERR;

/** Where in the input a problem was found: any of file, offset, field, line. */
export interface ErrorContext {
    file?: string;
    offset?: number;
    field?: string;
    line?: number;
}

/**
 * A problem with the input (or a failed check) that a user can act on.
 * `code` is the name to grep for (ESP_ERR_NVS_NOT_FOUND, PaaNotFound, CHIP_ERROR_INVALID_ARGUMENT, …);
 * `exitCode` is what the CLI exits with: 2 for bad/unreadable input, 1 for a check that ran and failed.
 */
export class DiagnosticError extends Error {
    override name = "DiagnosticError";
    readonly code: string;
    readonly context: ErrorContext;
    readonly exitCode: 1 | 2;

    constructor(code: string, message: string, context: ErrorContext = {}, exitCode: 1 | 2 = 2) {
        super(message);
        this.code = code;
        this.context = context;
        this.exitCode = exitCode;
    }

    /** Returns a copy of this error with more context (the outer caller knows the file name, say). */
    withContext(context: ErrorContext): this {
        const merged = { ...context, ...this.context };
        const copy = Object.create(Object.getPrototypeOf(this)) as this;
        Object.assign(copy, this, { context: merged });
        copy.message = this.message;
        copy.stack = this.stack;
        return copy;
    }

    /** The one-line form the CLI prints: `file: line 3: offset 0x40: field key: CODE: message`. */
    oneLine(): string {
        const { file, line, offset, field } = this.context;
        const where = [
            file,
            line !== undefined ? `line ${line}` : undefined,
            offset !== undefined ? `offset 0x${offset.toString(16)}` : undefined,
            field !== undefined ? `field ${field}` : undefined,
        ].filter(p => p !== undefined);
        return [...where, this.code, this.message.replace(/\s*\n\s*/g, " ")].join(": ");
    }
}

/** An ESP-IDF error: `code` is the esp_err_t name, `esp` its numeric value. */
export class EspError extends DiagnosticError {
    override name = "EspError";
    readonly esp: number;

    constructor(code: EspErrName, message: string, context: ErrorContext = {}, exitCode: 1 | 2 = 2) {
        super(code, message, context, exitCode);
        this.esp = ESP_ERR[code];
    }

    /** esp_err_to_name() style: `ESP_ERR_NVS_NOT_FOUND (0x1102)`. */
    get nameWithValue(): string {
        return `${this.code} (0x${(this.esp >>> 0).toString(16)})`;
    }
}

export function isDiagnosticError(e: unknown): e is DiagnosticError {
    return e instanceof DiagnosticError;
}
