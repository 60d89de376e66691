/**
 * otadata: two 4 KiB sectors, each starting with an esp_ota_select_entry_t (components/bootloader_support/include/
 * esp_flash_partitions.h): ota_seq u32, seq_label[20], ota_state u32, crc u32 = esp_rom_crc32_le(UINT32_MAX, &ota_seq, 4).
 */
import { DiagnosticError } from "../esp_common/err.js";
import { espCrc32 } from "../esp_rom/crc.js";

export const OTADATA_SECTOR_SIZE = 0x1000;
export const OTADATA_PARTITION_SIZE = 0x2000;
export const OTA_SELECT_ENTRY_SIZE = 32;

/** esp_ota_img_states_t */
export const OtaImgState = {
    NEW: 0x0,
    PENDING_VERIFY: 0x1,
    VALID: 0x2,
    INVALID: 0x3,
    ABORTED: 0x4,
    UNDEFINED: 0xffffffff,
} as const;
export type OtaImgStateName = keyof typeof OtaImgState;

export function otaStateName(state: number): string {
    const hit = (Object.entries(OtaImgState) as Array<[OtaImgStateName, number]>).find(([, v]) => v === state);
    return hit ? hit[0] : `0x${(state >>> 0).toString(16).padStart(8, "0")}`;
}

export function parseOtaState(text: string): number {
    const upper = text.trim().toUpperCase();
    if (upper in OtaImgState) return OtaImgState[upper as OtaImgStateName];
    const n = /^0x[0-9a-f]{1,8}$/i.test(text.trim()) ? parseInt(text.trim().slice(2), 16) : /^[0-9]+$/.test(text.trim()) ? Number(text.trim()) : NaN;
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
        throw new DiagnosticError("ESP_ERR_INVALID_ARG", `unknown OTA image state '${text}' (NEW, PENDING_VERIFY, VALID, INVALID, ABORTED, UNDEFINED)`);
    }
    return n;
}

/** esp_ota_select_entry_t */
export interface OtaSelectEntry {
    seq: number;
    /** 20 bytes, normally 0xFF. */
    seqLabel: Uint8Array;
    state: number;
    crc: number;
}

export interface DecodedOtaSelectEntry extends OtaSelectEntry {
    crcOk: boolean;
    /** bootloader_common_ota_select_valid(): seq ≠ 0xFFFFFFFF, state ∉ {INVALID, ABORTED}, CRC right. */
    valid: boolean;
}

/** bootloader_common_ota_select_crc(): esp_rom_crc32_le(UINT32_MAX, &ota_seq, 4). */
export function otaSelectCrc(seq: number): number {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, seq >>> 0, true);
    return espCrc32(b);
}

/** bootloader_common_ota_select_invalid(). */
export function otaSelectInvalid(e: Pick<OtaSelectEntry, "seq" | "state">): boolean {
    return e.seq >>> 0 === 0xffffffff || e.state === OtaImgState.INVALID || e.state === OtaImgState.ABORTED;
}

/** bootloader_common_ota_select_valid(). */
export function otaSelectValid(e: OtaSelectEntry): boolean {
    return !otaSelectInvalid(e) && e.crc >>> 0 === otaSelectCrc(e.seq);
}

/** A fresh entry: label 0xFF, CRC computed. */
export function makeOtaSelectEntry(seq: number, state: number, seqLabel?: Uint8Array): OtaSelectEntry {
    return { seq: seq >>> 0, seqLabel: seqLabel ? new Uint8Array(seqLabel.subarray(0, 20)) : new Uint8Array(20).fill(0xff), state: state >>> 0, crc: otaSelectCrc(seq) };
}

export function encodeOtaSelectEntry(e: OtaSelectEntry): Uint8Array {
    const out = new Uint8Array(OTA_SELECT_ENTRY_SIZE).fill(0xff);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, e.seq >>> 0, true);
    out.set(e.seqLabel.subarray(0, 20), 4);
    dv.setUint32(24, e.state >>> 0, true);
    dv.setUint32(28, e.crc >>> 0, true);
    return out;
}

export function decodeOtaSelectEntry(bytes: Uint8Array, offset = 0): DecodedOtaSelectEntry {
    if (offset < 0 || offset + OTA_SELECT_ENTRY_SIZE > bytes.length) {
        throw new DiagnosticError("ESP_ERR_OTA_SELECT_INFO_INVALID", `otadata entry at 0x${offset.toString(16)} needs 32 bytes, have ${Math.max(0, bytes.length - offset)}`, {
            offset,
        });
    }
    const dv = new DataView(bytes.buffer, bytes.byteOffset + offset, OTA_SELECT_ENTRY_SIZE);
    const e: OtaSelectEntry = {
        seq: dv.getUint32(0, true),
        seqLabel: new Uint8Array(bytes.subarray(offset + 4, offset + 24)),
        state: dv.getUint32(24, true),
        crc: dv.getUint32(28, true),
    };
    return { ...e, crcOk: e.crc === otaSelectCrc(e.seq), valid: otaSelectValid(e) };
}

/** Both entries of an otadata partition (sector 0 at 0x0, sector 1 at 0x1000). */
export function decodeOtadata(bytes: Uint8Array): [DecodedOtaSelectEntry, DecodedOtaSelectEntry] {
    if (bytes.length < OTADATA_SECTOR_SIZE + OTA_SELECT_ENTRY_SIZE) {
        throw new DiagnosticError(
            "ESP_ERR_OTA_SELECT_INFO_INVALID",
            `otadata is ${bytes.length} bytes; it must hold two sectors (0x2000 bytes, entries at 0x0 and 0x1000)`,
            { offset: bytes.length },
        );
    }
    return [decodeOtaSelectEntry(bytes, 0), decodeOtaSelectEntry(bytes, OTADATA_SECTOR_SIZE)];
}

/** An otadata partition image: each given entry at the start of its sector, everything else 0xFF. */
export function encodeOtadata(sector0?: OtaSelectEntry, sector1?: OtaSelectEntry): Uint8Array {
    const out = new Uint8Array(OTADATA_PARTITION_SIZE).fill(0xff);
    if (sector0) out.set(encodeOtaSelectEntry(sector0), 0);
    if (sector1) out.set(encodeOtaSelectEntry(sector1), OTADATA_SECTOR_SIZE);
    return out;
}
