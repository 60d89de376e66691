/**
 * mfgsim scenarios: the public API for scripting a device's story (make or load factory data, change it, boot
 * the virtual ESP32, commission it with the strict commissioner, assert by error name).
 *
 *   import { scenario } from "../lib/index.js";
 *   export default scenario("esp-matter#808: …", async ({ line, expect }) => {
 *       const dev = await line.device({ encrypt: false });
 *       const boot = await dev.boot({ nvsEncryption: true });
 *       expect(boot).toFailWith("ESP_ERR_NVS_NOT_FOUND");
 *   });
 *
 * OTA: `expect(await dev.update({ selfTest: "fail" })).toFailWith("SelfTestFailed")`.
 */
export { scenario, isScenario, runScenario, type Scenario, type ScenarioBody, type ScenarioContext, type ScenarioOptions, type ScenarioRun } from "./scenario.js";
export { ProductionLine, LineResources, type DeviceSpec, type LineContext } from "./line.js";
export { Device, BootOutcome, CommissionOutcome, type BootOptions, type CommissionOptions, type Label } from "./device.js";
export { UpdateOutcome, buildOtaFile, type OtaImageOptions, type UpdateOptions, type UpdateStatus } from "./update.js";
export { FactoryPartition, type FactoryType, type FactoryValue } from "./factory.js";
export { Expectation, ScenarioAssertionError, isOutcome, makeExpect, type Expect, type Outcome } from "./expect.js";
export { StepOutcome, ReadOutcome } from "./outcome.js";
export { findScenarioFiles, loadScenarios, newSeed, replayCommand, runScenarioFiles, type RunOptions, type ScenarioRunResult } from "./runner.js";
export { certify, CertificationOutcome, type ChecklistItem } from "./certification.js";
