// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAdmissionPolicy} from "./interfaces/IAdmissionPolicy.sol";

/// @title AdmissionPolicyBase
/// @notice What every admission policy shares: it serves one AvatarGroups contract and only that contract calls it.
abstract contract AdmissionPolicyBase is IAdmissionPolicy {
    address private immutable _groups;

    /// @param groups_ The AvatarGroups contract allowed to call this policy.
    constructor(address groups_) {
        _groups = groups_;
    }

    modifier onlyGroups() {
        if (msg.sender != _groups) revert NotAvatarGroups(msg.sender);
        _;
    }

    /// @notice The AvatarGroups contract this policy serves.
    function avatarGroups() external view returns (address) {
        return _groups;
    }
}
