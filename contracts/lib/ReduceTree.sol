// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IJobRegistry} from "../interfaces/IJobRegistry.sol";

/// @title ReduceTree
/// @notice The reduce tree of packages/mapreduce/src/reduce.ts, as fraud proofs recompute it: leaf and node hashes,
/// Merkle paths with carried odd nodes, and the reducers' lift.
/// @dev Leaves sorted by nullifier are level 0; level k+1 pairs (2i, 2i+1) of level k, and an odd last node is
/// carried up unchanged (same hash). Arithmetic on values never reverts: a sum that does not fit int256 cannot
/// equal any claimed value, so it counts as a mismatch (an honest tree of safe integers never gets near it).
library ReduceTree {
    uint8 internal constant SUM = 0;
    uint8 internal constant COUNT = 1;
    uint8 internal constant HISTOGRAM = 2;
    uint8 internal constant MEAN = 3;
    uint8 internal constant QUANTILE = 4;

    /// @notice Domain tags, the first word of every leaf and node preimage (RFC 6962 prefixes 0x00 and 0x01 alike):
    /// a leaf (uint256, bytes32, int256[]) and a node (bytes32, bytes32, int256[]) would otherwise encode the same,
    /// and a challenger could pass an honest node as a leaf, or a leaf as a node, and "prove" a fault in it.
    uint8 internal constant LEAF_TAG = 0;
    uint8 internal constant NODE_TAG = 1;

    /// @notice keccak256(abi.encode(LEAF_TAG, nullifier, digest, payload)).
    function leafHash(IJobRegistry.Leaf calldata leaf) internal pure returns (bytes32) {
        return keccak256(abi.encode(LEAF_TAG, leaf.nullifier, leaf.digest, leaf.payload));
    }

    /// @notice keccak256(abi.encode(NODE_TAG, left, right, value)).
    function innerHash(IJobRegistry.Inner calldata node) internal pure returns (bytes32) {
        return keccak256(abi.encode(NODE_TAG, node.left, node.right, node.value));
    }

    /// @notice Whether the node at (level, position) of a `count`-leaf tree is a leaf: level 0, or the last leaf
    /// carried up unchanged (its hash is a leaf hash) through every level below. The contract decides a child's type
    /// from the tree's shape, never from what a challenger says it is.
    function isCarriedLeaf(uint256 count, uint256 level, uint256 position) internal pure returns (bool) {
        // No node stands above the root (this also bounds the loop by the tree's height).
        if (level > 0 && nodesAt(count, level - 1) <= 1) return false;
        for (; level > 0; --level) {
            uint256 below = nodesAt(count, level - 1);
            // Carried iff it is the lone last child of an odd level below; then its preimage is one level down.
            if (below & 1 == 0 || position != below >> 1) return false;
            position <<= 1;
        }
        return true;
    }

    /// @notice The lifted state length of a reducer (see IJobRegistry.liftedLength).
    function liftedLength(uint8 kind, uint256 payloadLength, uint256 edgesLength) internal pure returns (uint256) {
        if (kind == COUNT) return 1;
        if (kind == MEAN) return payloadLength + 1;
        if (kind == QUANTILE) return payloadLength * (edgesLength + 1);
        return payloadLength;
    }

    /// @notice The number of nodes at `level` of a tree of `count` leaves (count ≥ 1; 1 from the root up).
    function nodesAt(uint256 count, uint256 level) internal pure returns (uint256 n) {
        n = count;
        for (uint256 i = 0; i < level && n > 1; ++i) {
            n = (n + 1) >> 1;
        }
    }

    /// @notice Whether (level ≥ 1, position) is a node with two children, rather than a carried one or none.
    function isPair(uint256 count, uint256 level, uint256 position) internal pure returns (bool) {
        // 2·position + 1 < nodes below  ⇔  position < ⌊nodes below / 2⌋, without overflow for any position.
        return position < nodesAt(count, level - 1) >> 1;
    }

    /// @notice Hashes `h`, the node at (level, position) of a `count`-leaf tree, up `path` to the root.
    /// @dev Reverts NoSuchNode when the tree has no such node, WrongPathLength unless the path has exactly one
    /// element per level where the node's ancestor is paired (none where it is carried).
    function rootOf(bytes32 h, uint256 count, uint256 level, uint256 position, IJobRegistry.Ancestor[] calldata path)
        internal
        pure
        returns (bytes32)
    {
        uint256 n = nodesAt(count, level);
        if (position >= n) revert IJobRegistry.NoSuchNode(level, position);
        uint256 expected = 0;
        for ((uint256 m, uint256 p) = (n, position); m > 1; (m, p) = ((m + 1) >> 1, p >> 1)) {
            if (p != m - 1 || m & 1 == 0) ++expected;
        }
        if (path.length != expected) revert IJobRegistry.WrongPathLength(path.length, expected);
        uint256 k = 0;
        for (; n > 1; (n, position) = ((n + 1) >> 1, position >> 1)) {
            if (position == n - 1 && n & 1 == 1) continue; // carried: same hash one level up
            IJobRegistry.Ancestor calldata a = path[k++];
            h = position & 1 == 0
                ? keccak256(abi.encode(NODE_TAG, h, a.sibling, a.value))
                : keccak256(abi.encode(NODE_TAG, a.sibling, h, a.value));
        }
        return h;
    }

    /// @notice Adds a leaf's lifted payload into `state` (stateLength entries); false when the payload is not
    /// payloadLength long (a malformed leaf) or a sum overflows.
    function addLifted(
        int256[] memory state,
        uint8 kind,
        uint256 payloadLength,
        int256[] calldata payload,
        int256[] calldata edges
    ) internal pure returns (bool ok) {
        if (payload.length != payloadLength) return false;
        if (kind == COUNT) return _add(state, 0, 1);
        if (kind == QUANTILE) {
            uint256 buckets = edges.length + 1;
            for (uint256 e = 0; e < payloadLength; ++e) {
                if (!_add(state, e * buckets + bucketOf(edges, payload[e]), 1)) return false;
            }
            return true;
        }
        for (uint256 i = 0; i < payloadLength; ++i) {
            if (!_add(state, i, payload[i])) return false;
        }
        if (kind == MEAN) return _add(state, payloadLength, 1);
        return true;
    }

    /// @notice The number of edges at or below x: the sketch bucket of x.
    function bucketOf(int256[] calldata edges, int256 x) internal pure returns (uint256 lo) {
        uint256 hi = edges.length;
        while (lo < hi) {
            uint256 mid = (lo + hi) >> 1;
            if (edges[mid] <= x) lo = mid + 1;
            else hi = mid;
        }
    }

    /// @notice Whether `value` differs from `state` (different lengths differ).
    function differs(int256[] calldata value, int256[] memory state) internal pure returns (bool) {
        uint256 n = state.length;
        if (value.length != n) return true;
        for (uint256 i = 0; i < n; ++i) {
            if (value[i] != state[i]) return true;
        }
        return false;
    }

    /// @notice state[i] += x; false on int256 overflow (state unchanged then is irrelevant: it is a mismatch).
    function _add(int256[] memory state, uint256 i, int256 x) private pure returns (bool) {
        int256 a = state[i];
        int256 s;
        // Wrapping add on purpose: overflow is detected below and reported, not reverted.
        unchecked {
            s = a + x;
        }
        if ((x >= 0) != (s >= a)) return false;
        state[i] = s;
        return true;
    }

    /// @notice Whether `value` differs from left + right entry-wise, or any of the three is not stateLength long.
    function pairDiffers(
        int256[] calldata value,
        int256[] calldata left,
        int256[] calldata right,
        uint256 stateLength
    ) internal pure returns (bool) {
        if (value.length != stateLength || left.length != stateLength || right.length != stateLength) return true;
        for (uint256 i = 0; i < stateLength; ++i) {
            int256 a = left[i];
            int256 x = right[i];
            int256 s;
            // Wrapping add on purpose: an overflowing sum cannot equal any int256, so it is a mismatch.
            unchecked {
                s = a + x;
            }
            if ((x >= 0) != (s >= a) || s != value[i]) return true;
        }
        return false;
    }
}
