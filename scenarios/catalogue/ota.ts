// OTA field failures: need harness/ota (performOta) and the OTA requestor on the virtual device, which are not
// in the tree yet. Kept as pending so `mfgsim run` lists them.
import { scenario } from "../lib/index.js";

const WAIT = "needs OTA (harness/ota performOta), not landed yet";

export const otaWrongProduct = scenario.pending("OTA image for another product is refused", WAIT);
export const otaPowerLoss = scenario.pending("power loss during OTA: the old slot still boots", WAIT);
export const otaRollback = scenario.pending("rollback after a failed self-test (PENDING_VERIFY → ABORTED)", WAIT);
