/**
 * The chip-factory (and extra) NVS rows of one device, in esp-matter-mfg-tool's key order — the order decides
 * the byte layout of the partition (factory-data.md): discriminator, iteration-count, salt, device-instance keys,
 * serial-num, dac-cert, dac-key, dac-pub-key, pai-cert, verifier, cert-dclrn, extra CSV keys, device-info keys,
 * then the extra CSV namespaces. Index numbers inside keys are hex. The passcode is never a row.
 *
 * Like mfg_tool's CHIP_NVS_MAP (a Python dict), a key declared again (say by --csv) keeps its first position
 * and takes the new type, encoding and value.
 */
import { CALENDAR_TYPES, parseFixedLabel, parseSupportedMode, type MfgConfig } from "./options.js";

export interface FactoryRow {
    namespace: string;
    key: string;
    type: "data" | "file";
    encoding: string;
    /** The CSV value: the data itself, or for file rows the path written to partition.csv / master.csv. */
    value: string;
    /** File rows: the file content (so the image never depends on reading the path back). */
    bytes?: Uint8Array;
}

export interface DacFiles {
    certDer: Uint8Array;
    privateKey: Uint8Array;
    publicKey: Uint8Array;
    paiDer: Uint8Array;
    certPath: string;
    privateKeyPath: string;
    publicKeyPath: string;
    paiPath: string;
}

export interface DeviceFactoryValues {
    discriminator: number;
    iterationCount: number;
    saltB64: string;
    verifierB64?: string;
    serialNum: string;
    rdIdUidHex?: string;
    dac?: DacFiles;
    cd?: { bytes: Uint8Array; path: string };
    /** --csv schema rows with this device's --mcsv values (files already read). */
    extra?: FactoryRow[];
}

class NvsMap {
    readonly namespaces = new Map<string, Map<string, FactoryRow>>();
    set(row: FactoryRow): void {
        let ns = this.namespaces.get(row.namespace);
        if (!ns) this.namespaces.set(row.namespace, (ns = new Map()));
        ns.set(row.key, row);
    }
    delete(namespace: string, key: string): void {
        this.namespaces.get(namespace)?.delete(key);
    }
    rows(): FactoryRow[] {
        const out: FactoryRow[] = [];
        for (const ns of this.namespaces.values()) for (const row of ns.values()) out.push(row);
        return out;
    }
}

const NS = "chip-factory";
const data = (key: string, encoding: string, value: string | number): FactoryRow => ({ namespace: NS, key, type: "data", encoding, value: String(value) });
const file = (key: string, path: string, bytes: Uint8Array): FactoryRow => ({ namespace: NS, key, type: "file", encoding: "binary", value: path, bytes });

export function calendarTypesBitmap(types: readonly string[]): number {
    let bits = 0;
    for (const t of types) bits |= 1 << CALENDAR_TYPES.indexOf(t as (typeof CALENDAR_TYPES)[number]);
    return bits >>> 0;
}

/** Items grouped by endpoint, endpoints in first-appearance order (the order their NVS keys are written in). */
function byEndpoint<T extends { ep: number }>(items: readonly T[]): Map<number, T[]> {
    const out = new Map<number, T[]>();
    for (const item of items) {
        const list = out.get(item.ep);
        if (list) list.push(item);
        else out.set(item.ep, [item]);
    }
    return out;
}

/** All NVS rows of one device, namespaces in first-appearance order (chip-factory first). */
export function factoryRows(c: MfgConfig, v: DeviceFactoryValues): FactoryRow[] {
    const m = new NvsMap();
    const commissionable = !c.commissionableDataInSecureCert;
    if (commissionable) {
        m.set(data("discriminator", "u32", v.discriminator));
        m.set(data("iteration-count", "u32", v.iterationCount));
        m.set(data("salt", "string", v.saltB64));
    }
    m.set(data("vendor-id", "u32", c.vendorId));
    if (c.vendorName !== undefined) m.set(data("vendor-name", "string", c.vendorName));
    m.set(data("product-id", "u32", c.productId));
    if (c.productName !== undefined) m.set(data("product-name", "string", c.productName));
    if (c.hwVer !== undefined) m.set(data("hardware-ver", "u32", c.hwVer));
    if (c.hwVerStr !== undefined) m.set(data("hw-ver-str", "string", c.hwVerStr));
    if (c.mfgDate !== undefined) m.set(data("mfg-date", "string", c.mfgDate));
    if (c.enableRotatingDeviceId && !c.rdIdUidInSecureCert && v.rdIdUidHex !== undefined) m.set(data("rd-id-uid", "hex2bin", v.rdIdUidHex));
    if (c.productFinish !== undefined) m.set(data("product-finish", "u32", c.productFinish));
    if (c.productColor !== undefined) m.set(data("product-color", "u32", c.productColor));
    if (c.partNumber !== undefined) m.set(data("part-number", "string", c.partNumber));
    m.set(data("serial-num", "string", v.serialNum));
    if (v.dac && !c.dacInSecureCert) {
        m.set(file("dac-cert", v.dac.certPath, v.dac.certDer));
        m.set(file("dac-key", v.dac.privateKeyPath, v.dac.privateKey));
        m.set(file("dac-pub-key", v.dac.publicKeyPath, v.dac.publicKey));
        m.set(file("pai-cert", v.dac.paiPath, v.dac.paiDer));
    }
    if (!c.dynamicPasscode && commissionable && v.verifierB64 !== undefined) m.set(data("verifier", "string", v.verifierB64));
    if (v.cd) m.set(file("cert-dclrn", v.cd.path, v.cd.bytes));
    for (const row of v.extra ?? []) m.set(row);
    if (c.calendarTypes !== undefined) m.set(data("cal-types", "u32", calendarTypesBitmap(c.calendarTypes)));
    if (c.locales !== undefined) {
        m.set(data("locale-sz", "u32", c.locales.length));
        c.locales.forEach((l, i) => m.set(data(`locale/${i.toString(16)}`, "string", l)));
    }
    if (c.fixedLabels !== undefined) {
        for (const [ep, labels] of byEndpoint(c.fixedLabels.map(parseFixedLabel))) {
            const e = ep.toString(16);
            m.set(data(`fl-sz/${e}`, "u32", labels.length));
            labels.forEach((l, i) => {
                m.set(data(`fl-k/${e}/${i.toString(16)}`, "string", l.label));
                m.set(data(`fl-v/${e}/${i.toString(16)}`, "string", l.value));
            });
        }
    }
    if (c.supportedModes !== undefined) {
        for (const [ep, modes] of byEndpoint(c.supportedModes.map(parseSupportedMode))) {
            const e = ep.toString(16);
            m.set(data(`sm-sz/${e}`, "u32", modes.length));
            modes.forEach((sm, i) => {
                const ix = `${e}/${i.toString(16)}`;
                m.set(data(`sm-label/${ix}`, "string", sm.label));
                m.set(data(`sm-mode/${ix}`, "u32", sm.mode));
                m.set(data(`sm-st-sz/${ix}`, "u32", sm.tags.length));
                sm.tags.forEach((t, j) => {
                    m.set(data(`st-v/${ix}/${j.toString(16)}`, "u32", t.value));
                    m.set(data(`st-mfg/${ix}/${j.toString(16)}`, "u32", t.mfgCode));
                });
            });
        }
    }
    if (c.productLabel !== undefined) m.set(data("product-label", "string", c.productLabel));
    if (c.productUrl !== undefined) m.set(data("product-url", "string", c.productUrl));
    return m.rows();
}

/** The nvs_partition_gen CSV (`key,type,encoding,value`) of the rows: internal/partition.csv. */
export function partitionCsvRows(rows: readonly FactoryRow[]): string[][] {
    const out: string[][] = [["key", "type", "encoding", "value"]];
    let ns: string | undefined;
    for (const r of rows) {
        if (r.namespace !== ns) {
            out.push([r.namespace, "namespace", "", ""]);
            ns = r.namespace;
        }
        out.push([r.key, r.type, r.encoding, r.value]);
    }
    return out;
}

/** staging/config.csv lines (mfg_gen's config: `ns,namespace,` and `key,type,encoding`). */
export function configCsvText(rows: readonly FactoryRow[]): string {
    let text = "";
    let ns: string | undefined;
    for (const r of rows) {
        if (r.namespace !== ns) {
            text += `${r.namespace},namespace,\n`;
            ns = r.namespace;
        }
        text += `${r.key},${r.type},${r.encoding}\n`;
    }
    return text;
}
