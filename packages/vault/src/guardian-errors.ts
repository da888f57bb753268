// Named errors for guardian recovery: callers branch on `name`, the message says what to do next.
import { namedError } from "@mosaic/protocol";

/** The sealed bytes did not authenticate under this key and associated data (a low-level ECIES failure). */
export class DecryptionFailedError extends namedError("DecryptionFailedError") {}

/** A share package did not decrypt with this guardian's key: it was sealed to someone else, for another account, or altered. */
export class WrongGuardianKeyError extends namedError("WrongGuardianKeyError") {
  constructor(
    /** The address of the guardian key that was tried. */
    readonly guardian: string,
    options?: ErrorOptions,
  ) {
    super(
      `share package does not decrypt with guardian ${guardian}'s key. Most likely it was sealed to another guardian ` +
        `or for another account id: check that this guardian is in the account's guardian list and that the account id is right. ` +
        `If both are right, the package bytes were altered: fetch it again by its CID`,
      options,
    );
  }
}

/** An approval did not decrypt with this device's one-off key: it was sealed to another device, for another account, or altered. */
export class WrongDeviceKeyError extends namedError("WrongDeviceKeyError") {
  constructor(
    /** Hex of the device public key that was tried. */
    readonly devicePublicKey: string,
    options?: ErrorOptions,
  ) {
    super(
      `approval does not decrypt with device key ${devicePublicKey}. Most likely the guardian approved another recovery request ` +
        `(another device key or account id): ask the guardian to approve this request again. ` +
        `If the request was right, the approval bytes were altered on the way`,
      options,
    );
  }
}

/** A share package or approval is too large, truncated, of an unknown version, or decrypts to the wrong shape. */
export class MalformedShareError extends namedError("MalformedShareError") {
  constructor(
    message: string,
    /** The field that was wrong, when there is one (`config.threshold`, `share`, ...). */
    readonly field?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A share does not match the hash its config commits to, or the shares do not combine to the committed seed. */
export class ShareTamperedError extends namedError("ShareTamperedError") {
  constructor(
    message: string,
    /** The guardian index the share claims, when known. */
    readonly index?: number,
    /** The guardian address at that index, when known. */
    readonly guardian?: string,
  ) {
    super(message);
  }
}

/** A guardian config does not hash to the guardiansHash expected (from the chain, or from the other approvals). */
export class GuardiansMismatchError extends namedError("GuardiansMismatchError") {
  constructor(
    message: string,
    /** The guardiansHash that was expected (0x bytes32), when one was. */
    readonly expected: string | undefined,
    /** The guardiansHash values that were found instead. */
    readonly found: string[],
    /** The guardian index of the approval that carried the outlying config, when this is about one approval. */
    readonly index?: number,
    /** Every approval rejected on the way, when this error ends a whole recovery. */
    readonly rejected: RejectedApproval[] = [],
  ) {
    super(message);
  }
}

/** Too few good shares to reconstruct the seed; nothing was derived from the ones there are. */
export class ThresholdNotMetError extends namedError("ThresholdNotMetError") {
  constructor(
    /** Good, distinct shares available. */
    readonly have: number,
    /** The config's threshold; undefined when no approval could be opened, so no config is known. */
    readonly need: number | undefined,
    /** Why each unusable approval was rejected, so the caller can name tampered shares. */
    readonly rejected: RejectedApproval[] = [],
  ) {
    const why = rejected.length > 0 ? `; rejected: ${rejected.map(describeRejected).join("; ")}` : "";
    super(
      need === undefined
        ? `no approval could be opened (have ${have} good shares, threshold unknown)${why}. Collect approvals from more guardians`
        : `have ${have} good shares, need ${need}${why}. Collect approvals from ${need - have} more guardian(s)`,
    );
  }
}

/** A share package or approval is for another account than the one being recovered. */
export class WrongAccountError extends namedError("WrongAccountError") {
  constructor(
    /** Hex of the account id expected. */
    readonly expected: string,
    /** Hex of the account id found. */
    readonly found: string,
    /** The guardian index the share claims, when known. */
    readonly index?: number,
  ) {
    super(
      `share is for account ${found}, not ${expected}${index === undefined ? "" : ` (guardian index ${index})`}: ` +
        `it was made for another account; ask the guardian for this account's approval`,
    );
  }
}

/** An approval combineApprovals could not use, and why. */
export interface RejectedApproval {
  /** The guardian index the approval claims, when it could be opened. */
  index?: number;
  /** The approval's position in the array passed to combineApprovals. */
  position: number;
  error: Error;
}

function describeRejected(r: RejectedApproval): string {
  const who = r.index === undefined ? `approval #${r.position}` : `approval #${r.position} (guardian ${r.index})`;
  return `${who}: ${r.error.name}`;
}
