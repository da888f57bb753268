// Named errors of the vault: callers branch on `name`; messages say what to do next.
import { namedError } from "@mosaic/protocol";

/** An ability manifest is malformed, or conflicts with an ability already loaded. */
export class AbilityManifestError extends namedError("AbilityManifestError") {}

/** An ability asked for a collection its manifest does not grant it. */
export class AbilityAccessError extends namedError("AbilityAccessError") {
  constructor(
    readonly ability: string,
    readonly collection: string,
    readonly access: "read" | "write",
  ) {
    super(`ability ${ability} may not ${access} ${collection}: its manifest does not grant it`);
  }
}

/** No ability of that name is loaded in this vault. */
export class UnknownAbilityError extends namedError("UnknownAbilityError") {}

/** Consent for this job was withdrawn; review the job again to give it anew. */
export class ConsentWithdrawnError extends namedError("ConsentWithdrawnError") {}

/** The job's output already left the vault: consent can no longer be withdrawn, nor the output sent twice. */
export class AlreadySubmittedError extends namedError("AlreadySubmittedError") {}

/** The bytes offered to the egress gate are not the output the user consented to. */
export class EgressMismatchError extends namedError("EgressMismatchError") {}

/** Spending a job's epsilon would take the user over their privacy budget for the period. */
export class PrivacyBudgetExceededError extends namedError("PrivacyBudgetExceededError") {
  constructor(
    readonly requested: string,
    readonly remaining: string,
    readonly resetsAt: number,
  ) {
    super(
      `this job needs epsilon ${requested} but only ${remaining} remains of your privacy budget until ${new Date(resetsAt).toISOString()}; ` +
        "decline the job, wait for the reset, or raise the budget with `mosaic vault budget set`",
    );
  }
}
