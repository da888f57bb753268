// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ISubmissionJudge
/// @notice Re-encodes a v1 submission envelope (packages/avatar/src/envelope.ts) from its fields, so a leaf's
/// submission digest can be opened on-chain, and judges the submission against the leaf and its job.
interface ISubmissionJudge {
    /// @notice The fields of a v1 envelope. Its canonical dag-cbor bytes are
    /// `{v: 1, job: {id, chain, registry: "0x…" lower case}, root, depth, proof: {scope, points, message}, payload,
    /// nullifier}`, every word a 32-byte byte string; sha-256 of them is the digest in the submission's CID.
    struct Envelope {
        uint256 chainId;
        address registry;
        uint256 jobId;
        int256[] payload;
        uint256[8] points;
        bytes32 message;
        bytes32 scope;
        uint256 nullifier;
        uint256 root;
        uint256 depth;
    }

    /// @notice What the submission must match: its leaf and its job.
    struct Expected {
        uint256 chainId;
        address registry;
        uint256 jobId;
        uint256 groupRoot;
        uint256 nullifier;
        int256[] payload;
        int256[] min;
        int256[] max;
    }

    /// @notice The first thing wrong with a submission, in the order judge() looks.
    enum Verdict {
        /// @dev Everything matches and the Semaphore proof verifies.
        Valid,
        /// @dev The leaf's payload or nullifier is not the submission's.
        LeafMismatch,
        /// @dev The payload does not have one entry per bound, or an entry lies outside [min, max].
        OutOfBounds,
        /// @dev The envelope names another chain, registry or job, or its proof's scope is not the job's.
        WrongJob,
        /// @dev The proof is at another depth than the one Mosaic proves at.
        WrongDepth,
        /// @dev The proof is against another root than the one the job fixed when it was posted.
        WrongRoot,
        /// @dev The proof's message is not sha-256 of the dag-cbor payload.
        WrongMessage,
        /// @dev The Groth16 proof does not verify with the job's public signals.
        InvalidProof
    }

    /// @notice The opened envelope is not the one the leaf commits to.
    error EnvelopeMismatch(bytes32 computed, bytes32 digest);
    /// @notice A number the envelope encodes does not fit a dag-cbor integer (64 bits and a sign).
    error IntegerTooLarge(int256 value);
    /// @notice judge() was left too little gas to give the proof verifier its fixed allowance.
    error VerifierGasTooLow(uint256 available, uint256 needed);

    /// @notice The canonical dag-cbor bytes of an envelope.
    function encode(Envelope calldata env) external pure returns (bytes memory);

    /// @notice sha-256 of the canonical dag-cbor bytes of an envelope: the digest in its CID.
    function digest(Envelope calldata env) external pure returns (bytes32);

    /// @notice Checks that `env` is the envelope with `digest` (EnvelopeMismatch otherwise) and returns the first
    /// thing wrong with it; the proof is verified last, with the stock Semaphore verifier and a fixed gas allowance.
    function judge(Envelope calldata env, bytes32 envDigest, Expected calldata want) external view returns (Verdict);
}
