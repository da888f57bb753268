// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Signatures
/// @notice EIP-191 personal-sign digests and strict ECDSA recovery, shared by every contract that checks off-chain
/// signatures (guardian approvals, registrar attestations).
library Signatures {
    /// @dev secp256k1n / 2: signatures with a larger s are the malleable twin of a low-s one.
    uint256 private constant _HALF_CURVE_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    /// @notice The EIP-191 personal-sign digest of a 32-byte message, as `signMessage(getBytes(hash))` signs it.
    function ethSignedDigest(bytes32 hash) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32", hash));
    }

    /// @notice The signer of a 65-byte `(r, s, v)` signature, or address(0) for anything malformed, malleable
    /// (high s, v other than 27/28) or unrecoverable; callers revert with their own error.
    function recover(bytes32 digest, bytes calldata signature) internal pure returns (address) {
        if (signature.length != 65) return address(0);
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (v != 27 && v != 28) return address(0);
        if (uint256(s) > _HALF_CURVE_ORDER) return address(0);
        return ecrecover(digest, v, r, s);
    }
}
