/**
 * Test support: a chip-factory NVS partition from DeviceFactoryData (the keys esp-matter-mfg-tool writes), and
 * small flash fixtures. Pure; no matter.js import (factory data with real certificates comes from
 * emulator/device/testing.ts).
 */
import type { DeviceFactoryData } from "../device/factory-data.js";
import { generateImage, type NvsItem, type NvsKeys } from "../nvs/index.js";

const enc = new TextEncoder();

/** The chip-factory items for `fd`, in esp-matter-mfg-tool's key order. */
export function chipFactoryItems(fd: Partial<DeviceFactoryData>, omit: readonly string[] = []): NvsItem[] {
    const str = (key: string, s: string): NvsItem => ({ kind: "string", key, bytes: enc.encode(s + "\0") });
    const u32 = (key: string, v: number): NvsItem => ({ kind: "int", key, type: "u32", value: BigInt(v) });
    const blob = (key: string, bytes: Uint8Array): NvsItem => ({ kind: "blob", key, bytes });
    const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
    const items: NvsItem[] = [{ kind: "namespace", name: "chip-factory" }];
    const add = (item: NvsItem | undefined) => item && item.kind !== "namespace" && !omit.includes(item.key) && items.push(item);
    add(fd.discriminator !== undefined ? u32("discriminator", fd.discriminator) : undefined);
    add(fd.iterationCount !== undefined ? u32("iteration-count", fd.iterationCount) : undefined);
    add(fd.salt ? str("salt", b64(fd.salt)) : undefined);
    add(fd.verifier ? str("verifier", b64(fd.verifier)) : undefined);
    add(fd.dacCert ? blob("dac-cert", fd.dacCert) : undefined);
    add(fd.dacKey ? blob("dac-key", fd.dacKey) : undefined);
    add(fd.paiCert ? blob("pai-cert", fd.paiCert) : undefined);
    add(fd.certDeclaration ? blob("cert-dclrn", fd.certDeclaration) : undefined);
    add(fd.vendorId !== undefined ? u32("vendor-id", fd.vendorId) : undefined);
    add(fd.vendorName !== undefined ? str("vendor-name", fd.vendorName) : undefined);
    add(fd.productId !== undefined ? u32("product-id", fd.productId) : undefined);
    add(fd.productName !== undefined ? str("product-name", fd.productName) : undefined);
    add(fd.hardwareVersion !== undefined ? u32("hardware-ver", fd.hardwareVersion) : undefined);
    add(fd.hardwareVersionString !== undefined ? str("hw-ver-str", fd.hardwareVersionString) : undefined);
    add(fd.manufacturingDate !== undefined ? str("mfg-date", fd.manufacturingDate) : undefined);
    add(fd.serialNumber !== undefined ? str("serial-num", fd.serialNumber) : undefined);
    add(fd.rotatingDeviceIdUniqueId !== undefined ? blob("rd-id-uid", fd.rotatingDeviceIdUniqueId) : undefined);
    return items;
}

/** A factory NVS partition image (0x6000 by default, like esp-matter-mfg-tool), optionally NVS-encrypted. */
export function factoryPartition(fd: Partial<DeviceFactoryData>, options: { size?: number; keys?: NvsKeys; omit?: readonly string[] } = {}): Uint8Array {
    return generateImage(chipFactoryItems(fd, options.omit), { size: options.size ?? 0x6000, ...(options.keys ? { keys: options.keys } : {}) }).image;
}
