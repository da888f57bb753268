// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ISemaphoreVerifier} from "@semaphore-protocol/contracts/interfaces/ISemaphoreVerifier.sol";
import {ISubmissionJudge} from "./interfaces/ISubmissionJudge.sol";

/// @title SubmissionJudge
/// @notice Opens a submission envelope on-chain and judges it, for JobRegistry's submission fraud proofs and
/// data-availability answers. The registry creates it, so the two are deployed as one.
/// @dev Instead of parsing CBOR, it re-encodes the canonical dag-cbor envelope from fields the caller supplies
/// and compares sha-256: a set of fields that hashes to the leaf's digest is the submission (a second preimage
/// would break sha-256), and a strict encoder is far less code than a parser that must refuse every malformed form.
contract SubmissionJudge is ISubmissionJudge {
    /// @notice The one Semaphore tree depth Mosaic proves at (PROOF_DEPTH in @mosaic/avatar).
    uint256 public constant PROOF_DEPTH = 20;
    /// @notice Gas given to the Groth16 verifier call. It uses about 200k; a fixed allowance means a challenger
    /// cannot make a valid proof fail by sending too little gas (the call reverts instead: VerifierGasTooLow).
    uint256 public constant VERIFIER_GAS = 400_000;

    ISemaphoreVerifier private immutable _verifier;

    /// @param verifier_ The stock Semaphore v4 Groth16 verifier (the one the Semaphore contract uses).
    constructor(ISemaphoreVerifier verifier_) {
        _verifier = verifier_;
    }

    /// @inheritdoc ISubmissionJudge
    function encode(Envelope calldata env) public pure returns (bytes memory) {
        return _envelope(env, _array(env.payload));
    }

    /// @inheritdoc ISubmissionJudge
    function digest(Envelope calldata env) external pure returns (bytes32) {
        return sha256(encode(env));
    }

    /// @inheritdoc ISubmissionJudge
    function judge(Envelope calldata env, bytes32 envDigest, Expected calldata want) external view returns (Verdict) {
        bytes memory payload = _array(env.payload);
        bytes32 h = sha256(_envelope(env, payload));
        if (h != envDigest) revert EnvelopeMismatch(h, envDigest);

        if (env.nullifier != want.nullifier || _differs(env.payload, want.payload)) return Verdict.LeafMismatch;
        if (_outOfBounds(env.payload, want.min, want.max)) return Verdict.OutOfBounds;
        if (
            env.chainId != want.chainId || env.registry != want.registry || env.jobId != want.jobId
                || uint256(env.scope) != _scope(want)
        ) return Verdict.WrongJob;
        if (env.depth != PROOF_DEPTH) return Verdict.WrongDepth;
        if (env.root != want.groupRoot) return Verdict.WrongRoot;
        if (env.message != sha256(payload)) return Verdict.WrongMessage;
        return _verifies(env) ? Verdict.Valid : Verdict.InvalidProof;
    }

    // ------------------------------------------------------------ checks

    function _differs(int256[] calldata a, int256[] calldata b) private pure returns (bool) {
        if (a.length != b.length) return true;
        for (uint256 i = 0; i < a.length; ++i) {
            if (a[i] != b[i]) return true;
        }
        return false;
    }

    function _outOfBounds(int256[] calldata payload, int256[] calldata min, int256[] calldata max)
        private
        pure
        returns (bool)
    {
        if (payload.length != min.length || payload.length != max.length) return true;
        for (uint256 i = 0; i < payload.length; ++i) {
            if (payload[i] < min[i] || payload[i] > max[i]) return true;
        }
        return false;
    }

    /// @dev jobScope in @mosaic/protocol: keccak256(chainId ‖ registry ‖ jobId) reduced into the SNARK field.
    function _scope(Expected calldata want) private pure returns (uint256) {
        uint256 field = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
        return uint256(keccak256(abi.encodePacked(want.chainId, want.registry, want.jobId))) % field;
    }

    /// @dev The stock verifier with the public signals Semaphore.verifyProof builds; a revert (it should return
    /// false on bad points, but that is its business) counts as a failed proof, given the fixed allowance.
    function _verifies(Envelope calldata env) private view returns (bool) {
        uint256 available = gasleft();
        // EIP-150 forwards at most 63/64 of what is left; keep a margin for the call itself.
        uint256 needed = VERIFIER_GAS + VERIFIER_GAS / 63 + 10_000;
        if (available < needed) revert VerifierGasTooLow(available, needed);
        uint256[8] calldata p = env.points;
        uint256[4] memory signals =
            [env.root, env.nullifier, _semaphoreHash(uint256(env.message)), _semaphoreHash(uint256(env.scope))];
        try _verifier.verifyProof{gas: VERIFIER_GAS}(
            [p[0], p[1]], [[p[2], p[3]], [p[4], p[5]]], [p[6], p[7]], signals, env.depth
        ) returns (bool ok) {
            return ok;
        } catch {
            return false;
        }
    }

    /// @dev Semaphore's _hash: keccak256 shifted into the SNARK field.
    function _semaphoreHash(uint256 x) private pure returns (uint256) {
        return uint256(keccak256(abi.encodePacked(x))) >> 8;
    }

    // ---------------------------------------------------------- dag-cbor

    /// @dev The envelope map; keys in dag-cbor order (shorter first, then bytewise): v, job, root, depth, proof,
    /// payload, nullifier. `payload` is the already-encoded payload array.
    function _envelope(Envelope calldata env, bytes memory payload) private pure returns (bytes memory) {
        return abi.encodePacked(
            hex"a7", // map(7)
            hex"6176", hex"01", // "v": 1
            hex"636a6f62", _job(env), // "job"
            hex"64726f6f74", _word(bytes32(env.root)), // "root"
            hex"656465707468", _uint(env.depth), // "depth"
            hex"6570726f6f66", _proof(env), // "proof"
            hex"677061796c6f6164", payload, // "payload"
            hex"696e756c6c6966696572", _word(bytes32(env.nullifier)) // "nullifier"
        );
    }

    /// @dev {id, chain, registry}: the registry as "0x" and 40 lower-case hex digits.
    function _job(Envelope calldata env) private pure returns (bytes memory) {
        return abi.encodePacked(
            hex"a3",
            hex"626964", _uint(env.jobId), // "id"
            hex"65636861696e", _uint(env.chainId), // "chain"
            hex"687265676973747279", hex"782a", _hexAddress(env.registry) // "registry": text(42)
        );
    }

    /// @dev {scope, points, message}.
    function _proof(Envelope calldata env) private pure returns (bytes memory) {
        uint256[8] calldata p = env.points;
        return abi.encodePacked(
            hex"a3",
            hex"6573636f7065", _word(env.scope), // "scope"
            hex"66706f696e747388", // "points": array(8)
            abi.encodePacked(
                _word(bytes32(p[0])), _word(bytes32(p[1])), _word(bytes32(p[2])), _word(bytes32(p[3]))
            ),
            abi.encodePacked(
                _word(bytes32(p[4])), _word(bytes32(p[5])), _word(bytes32(p[6])), _word(bytes32(p[7]))
            ),
            hex"676d657373616765", _word(env.message) // "message"
        );
    }

    /// @dev A dag-cbor array of integers.
    function _array(int256[] calldata values) private pure returns (bytes memory out) {
        out = _head(4, values.length);
        for (uint256 i = 0; i < values.length; ++i) {
            out = bytes.concat(out, _int(values[i]));
        }
    }

    /// @dev bytes(32) and the word.
    function _word(bytes32 w) private pure returns (bytes memory) {
        return abi.encodePacked(hex"5820", w);
    }

    function _uint(uint256 x) private pure returns (bytes memory) {
        if (x > type(uint64).max) revert IntegerTooLarge(int256(x > uint256(type(int256).max) ? type(int256).max : int256(x)));
        return _head(0, x);
    }

    function _int(int256 x) private pure returns (bytes memory) {
        if (x >= 0) {
            if (uint256(x) > type(uint64).max) revert IntegerTooLarge(x);
            return _head(0, uint256(x));
        }
        // CBOR major type 1 holds -1 - x; x > type(int256).min is implied by the bound below.
        if (x < -int256(uint256(type(uint64).max)) - 1) revert IntegerTooLarge(x);
        return _head(1, uint256(-1 - x));
    }

    /// @dev The shortest CBOR head for a major type and argument below 2^64.
    function _head(uint8 major, uint256 n) private pure returns (bytes memory) {
        bytes1 m = bytes1(major << 5);
        if (n < 24) return abi.encodePacked(m | bytes1(uint8(n)));
        if (n <= type(uint8).max) return abi.encodePacked(m | bytes1(0x18), uint8(n));
        if (n <= type(uint16).max) return abi.encodePacked(m | bytes1(0x19), uint16(n));
        if (n <= type(uint32).max) return abi.encodePacked(m | bytes1(0x1a), uint32(n));
        return abi.encodePacked(m | bytes1(0x1b), uint64(n));
    }

    function _hexAddress(address a) private pure returns (bytes memory out) {
        bytes16 digits = "0123456789abcdef";
        out = new bytes(42);
        out[0] = "0";
        out[1] = "x";
        uint160 v = uint160(a);
        for (uint256 i = 41; i > 1; --i) {
            out[i] = digits[v & 0xf];
            v >>= 4;
        }
    }
}
