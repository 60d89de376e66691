/** Every command group; each file declares its commands and loads its implementation lazily. */
import type { Command } from "commander";
import { register as nvs } from "./nvs.js";
import { register as payload } from "./payload.js";
import { register as spake2p } from "./spake2p.js";
import { register as attest } from "./attest.js";
import { register as cert } from "./cert.js";
import { register as cd } from "./cd.js";
import { register as image } from "./image.js";
import { register as flashCrypt } from "./flash-crypt.js";
import { register as otadata } from "./otadata.js";
import { register as parttable } from "./parttable.js";
import { register as ota } from "./ota.js";
import { register as generate } from "./generate.js";
import { register as flash } from "./flash.js";
import { register as boot } from "./boot.js";
import { register as gate } from "./gate.js";
import { register as run } from "./run.js";
import { register as report } from "./report.js";
import { register as demo } from "./demo.js";
import { register as diagnose } from "./diagnose.js";

const groups: Array<(program: Command) => void> = [
    nvs,
    payload,
    spake2p,
    attest,
    cert,
    cd,
    image,
    flashCrypt,
    otadata,
    parttable,
    ota,
    generate,
    flash,
    boot,
    gate,
    run,
    report,
    demo,
    diagnose,
];

export function registerAll(program: Command): void {
    for (const register of groups) register(program);
}
