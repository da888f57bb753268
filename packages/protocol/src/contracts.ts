// Typed handles on the Mosaic contracts at known addresses, and reading their events from receipts (ethers only).
import type { Interface, LogDescription, Provider, Signer, TransactionReceipt } from "ethers";
import { namedError } from "./errors.js";
import {
  type AlertFeeds,
  AlertFeeds__factory,
  type AvatarGroups,
  AvatarGroups__factory,
  type ExposureFeeds,
  ExposureFeeds__factory,
  type IAdmissionPolicy,
  IAdmissionPolicy__factory,
  type JobRegistry,
  JobRegistry__factory,
  type OpenAdmission,
  OpenAdmission__factory,
  type ReducerDirectory,
  ReducerDirectory__factory,
  type RegistrarAdmission,
  RegistrarAdmission__factory,
  type Semaphore,
  Semaphore__factory,
  type SharedJobs,
  SharedJobs__factory,
  type SubmissionJudge,
  SubmissionJudge__factory,
  type VaultRecovery,
  VaultRecovery__factory,
} from "./contracts/types/index.js";

export type {
  AlertFeeds,
  AvatarGroups,
  ExposureFeeds,
  IAdmissionPolicy,
  JobRegistry,
  OpenAdmission,
  ReducerDirectory,
  RegistrarAdmission,
  Semaphore,
  SharedJobs,
  SubmissionJudge,
  VaultRecovery,
};
export {
  AlertFeeds__factory,
  AvatarGroups__factory,
  ExposureFeeds__factory,
  IAdmissionPolicy__factory,
  JobRegistry__factory,
  OpenAdmission__factory,
  ReducerDirectory__factory,
  RegistrarAdmission__factory,
  Semaphore__factory,
  SharedJobs__factory,
  SubmissionJudge__factory,
};

/** A transaction's receipt lacks the event the caller expected of it. */
export class EventMissingError extends namedError("EventMissingError") {}

/** Where the Mosaic contracts live on a chain. */
export interface MosaicAddresses {
  semaphore: string;
  avatarGroups: string;
  /** The admission policy of open groups: anyone, one identity per wallet. */
  openAdmission: string;
  /** The admission policy of registrar groups: by a registrar's signed attestation or batch. */
  registrarAdmission: string;
  jobRegistry: string;
  /** Where staked reducers record their libp2p peer id and multiaddrs (see readReducers). */
  reducerDirectory: string;
  /** The secret-shared mode's jobs (issue 19); absent from deployments made before it. */
  sharedJobs?: string;
  /** Health authorities' exposure-notification feeds (issue 20); absent from deployments made before it. */
  exposureFeeds?: string;
  /** Public-alert feeds with m-of-n editors (issue 21); absent from deployments made before it. */
  alertFeeds?: string;
}

/** Typed handles on the deployed contracts. */
export interface MosaicContracts {
  addresses: MosaicAddresses;
  semaphore: Semaphore;
  avatarGroups: AvatarGroups;
  openAdmission: OpenAdmission;
  registrarAdmission: RegistrarAdmission;
  jobRegistry: JobRegistry;
  reducerDirectory: ReducerDirectory;
  /** The secret-shared mode's jobs, when the deployment has them (deployMosaic always deploys them). */
  sharedJobs?: SharedJobs;
  /** The exposure-notification feeds, when the deployment has them (deployMosaic always deploys them). */
  exposureFeeds?: ExposureFeeds;
  /** The public-alert feeds, when the deployment has them (deployMosaic always deploys them). */
  alertFeeds?: AlertFeeds;
  /**
   * The block of the first deployment transaction, where log reads can start: set by deployMosaic, and by callers
   * that know it (a network file's deploy blocks).
   */
  deployBlock?: number;
}

/** Typed contract handles at known addresses, for a signer or a read-only provider. */
export function attachMosaic(runner: Signer | Provider, addresses: MosaicAddresses): MosaicContracts {
  return {
    addresses,
    semaphore: Semaphore__factory.connect(addresses.semaphore, runner),
    avatarGroups: AvatarGroups__factory.connect(addresses.avatarGroups, runner),
    openAdmission: OpenAdmission__factory.connect(addresses.openAdmission, runner),
    registrarAdmission: RegistrarAdmission__factory.connect(addresses.registrarAdmission, runner),
    jobRegistry: JobRegistry__factory.connect(addresses.jobRegistry, runner),
    reducerDirectory: ReducerDirectory__factory.connect(addresses.reducerDirectory, runner),
    ...(addresses.sharedJobs === undefined ? {} : { sharedJobs: SharedJobs__factory.connect(addresses.sharedJobs, runner) }),
    ...(addresses.exposureFeeds === undefined ? {} : { exposureFeeds: ExposureFeeds__factory.connect(addresses.exposureFeeds, runner) }),
    ...(addresses.alertFeeds === undefined ? {} : { alertFeeds: AlertFeeds__factory.connect(addresses.alertFeeds, runner) }),
  };
}

/** The avatar groups contract at a known address. */
export function attachAvatarGroups(runner: Signer | Provider, address: string): AvatarGroups {
  return AvatarGroups__factory.connect(address, runner);
}

/** The registrar admission policy at a known address. */
export function attachRegistrarAdmission(runner: Signer | Provider, address: string): RegistrarAdmission {
  return RegistrarAdmission__factory.connect(address, runner);
}

/** The reducer directory at a known address. */
export function attachReducerDirectory(runner: Signer | Provider, address: string): ReducerDirectory {
  return ReducerDirectory__factory.connect(address, runner);
}

/** The secret-shared mode's jobs contract at a known address. */
export function attachSharedJobs(runner: Signer | Provider, address: string): SharedJobs {
  return SharedJobs__factory.connect(address, runner);
}

/** The exposure-notification feeds contract at a known address. */
export function attachExposureFeeds(runner: Signer | Provider, address: string): ExposureFeeds {
  return ExposureFeeds__factory.connect(address, runner);
}

/** The public-alert feeds contract at a known address. */
export function attachAlertFeeds(runner: Signer | Provider, address: string): AlertFeeds {
  return AlertFeeds__factory.connect(address, runner);
}

/** The social-recovery contract at a known address. */
export function attachVaultRecovery(runner: Signer | Provider, address: string): VaultRecovery {
  return VaultRecovery__factory.connect(address, runner);
}

/** The first event called `name` that `iface` can parse in a transaction's receipt; EventMissingError otherwise. */
export function findEvent(receipt: TransactionReceipt | null, iface: Interface, name: string): LogDescription {
  for (const log of receipt?.logs ?? []) {
    const parsed = iface.parseLog(log);
    if (parsed?.name === name) return parsed;
  }
  throw new EventMissingError(`${name} event missing from transaction ${receipt?.hash}`);
}
