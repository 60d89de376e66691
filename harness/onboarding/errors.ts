/**
 * Onboarding-payload errors, named like connectedhomeip's setup_payload parser reports them
 * (src/setup_payload/{Base38Decode,ManualSetupPayloadParser,QRCodeSetupPayloadParser,SetupPayload}.cpp), so a user
 * can grep for the same CHIP_ERROR name the reference commissioner would log.
 */
import { DiagnosticError } from "../../emulator/esp_common/err.js";

export type OnboardingErrorCode =
    | "CHIP_ERROR_INVALID_ARGUMENT"
    | "CHIP_ERROR_INVALID_INTEGER_VALUE"
    | "CHIP_ERROR_INVALID_STRING_LENGTH"
    | "CHIP_ERROR_INTEGRITY_CHECK_FAILED"
    | "CHIP_ERROR_INVALID_TLV_ELEMENT"
    | "CHIP_ERROR_INVALID_TLV_TAG"
    | "CHIP_ERROR_TLV_UNDERRUN"
    | "CHIP_ERROR_WRONG_TLV_TYPE"
    | "CHIP_ERROR_UNSUPPORTED_CHIP_FEATURE";

/** A bad onboarding payload / manual code / field value (exit code 2 in the CLI). */
export class OnboardingError extends DiagnosticError {
    override name = "OnboardingError";
    constructor(code: OnboardingErrorCode, message: string, field?: string, offset?: number) {
        const ctx: { field?: string; offset?: number } = {};
        if (field !== undefined) ctx.field = field;
        if (offset !== undefined) ctx.offset = offset;
        super(code, message, ctx, 2);
    }
}
