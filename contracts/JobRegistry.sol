// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAvatarGroups} from "./interfaces/IAvatarGroups.sol";
import {IJobRegistry, JobId} from "./interfaces/IJobRegistry.sol";

/// @title JobRegistry
/// @notice Anchors Mosaic jobs: spec CID, group root, reward escrow, reducer stakes, proposals and payouts.
/// @dev Submissions never touch the chain, so gas per job does not depend on the number of participants.
contract JobRegistry is IJobRegistry {
    /// @notice The longest aggregate a proposal may carry.
    uint256 public constant MAX_AGGREGATE_LENGTH = 256;

    IAvatarGroups private immutable _groups;
    uint64 private immutable _unbondingDelay;

    Job[] private _jobs;
    mapping(JobId => Proposal[]) private _proposals;
    mapping(JobId => mapping(address => bool)) private _hasProposed;
    mapping(JobId => uint256) private _winner;

    mapping(address => uint256) private _stakes;
    mapping(address => uint256) private _openProposals;
    mapping(address => uint256) private _unbondingAmount;
    mapping(address => uint64) private _unbondingReleaseAt;
    mapping(address => uint256) private _balances;

    /// @param groups_ The avatar groups contract jobs draw their group roots from.
    /// @param unbondingDelay_ Seconds a reducer waits to withdraw stake; every challenge window must be shorter.
    constructor(IAvatarGroups groups_, uint64 unbondingDelay_) {
        _groups = groups_;
        _unbondingDelay = unbondingDelay_;
    }

    // ---------------------------------------------------------------- stakes

    /// @inheritdoc IJobRegistry
    function stake() external payable {
        if (msg.value == 0) revert ZeroAmount();
        uint256 total = _stakes[msg.sender] + msg.value;
        _stakes[msg.sender] = total;
        emit Staked(msg.sender, msg.value, total);
    }

    /// @inheritdoc IJobRegistry
    function requestUnstake(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 staked = _stakes[msg.sender];
        if (amount > staked) revert InsufficientStake(msg.sender, staked, amount);
        uint256 open = _openProposals[msg.sender];
        if (open != 0) revert HasOpenProposals(msg.sender, open);
        // amount <= staked was checked above.
        unchecked {
            _stakes[msg.sender] = staked - amount;
        }
        uint64 releaseAt = uint64(block.timestamp) + _unbondingDelay;
        _unbondingAmount[msg.sender] += amount;
        _unbondingReleaseAt[msg.sender] = releaseAt;
        emit UnstakeRequested(msg.sender, amount, releaseAt);
    }

    /// @inheritdoc IJobRegistry
    function withdrawStake() external {
        uint256 amount = _unbondingAmount[msg.sender];
        if (amount == 0) revert NothingUnbonding(msg.sender);
        uint64 releaseAt = _unbondingReleaseAt[msg.sender];
        if (block.timestamp < releaseAt) revert StillUnbonding(msg.sender, releaseAt);
        _unbondingAmount[msg.sender] = 0;
        _unbondingReleaseAt[msg.sender] = 0;
        emit StakeWithdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    // ------------------------------------------------------------------ jobs

    /// @inheritdoc IJobRegistry
    function postJob(
        string calldata specCid,
        uint256 groupId,
        uint32 minParticipants,
        uint64 collectionDeadline,
        uint64 challengeWindow,
        uint256 minStake
    ) external payable returns (JobId jobId) {
        if (bytes(specCid).length == 0) revert EmptySpecCid();
        if (msg.value == 0) revert NoReward();
        if (minParticipants == 0) revert ZeroMinParticipants();
        if (collectionDeadline <= block.timestamp) revert DeadlineInPast(collectionDeadline, block.timestamp);
        // A reducer must not be able to unbond before a window it proposed in has closed.
        if (challengeWindow == 0 || challengeWindow >= _unbondingDelay) revert InvalidChallengeWindow(challengeWindow, _unbondingDelay);
        if (_groups.groupSize(groupId) == 0) revert GroupHasNoMembers(groupId);
        uint256 root = _groups.groupRoot(groupId);

        _jobs.push(
            Job({
                researcher: msg.sender,
                specCid: specCid,
                groupId: groupId,
                groupRoot: root,
                reward: msg.value,
                minStake: minStake,
                collectionDeadline: collectionDeadline,
                proposalDeadline: collectionDeadline + challengeWindow,
                minParticipants: minParticipants,
                state: JobState.Open
            })
        );
        jobId = JobId.wrap(_jobs.length);
        emit JobPosted(
            jobId, msg.sender, specCid, groupId, root, msg.value, collectionDeadline, collectionDeadline + challengeWindow
        );
    }

    /// @inheritdoc IJobRegistry
    function proposeResult(
        JobId jobId,
        int256[] calldata aggregate,
        uint32 count,
        bytes32 treeRoot,
        string calldata bundleCid
    ) external returns (uint256 index) {
        Job storage job = _job(jobId);
        if (job.state != JobState.Open) revert JobNotOpen(jobId, job.state);
        if (block.timestamp < job.collectionDeadline) revert CollectionStillOpen(jobId, job.collectionDeadline);
        if (block.timestamp >= job.proposalDeadline) revert ProposalWindowClosed(jobId, job.proposalDeadline);
        uint256 staked = _stakes[msg.sender];
        if (staked < job.minStake || staked == 0) revert StakeTooLow(msg.sender, staked, job.minStake);
        if (_hasProposed[jobId][msg.sender]) revert AlreadyProposed(jobId, msg.sender);
        if (aggregate.length == 0) revert EmptyAggregate();
        if (aggregate.length > MAX_AGGREGATE_LENGTH) revert AggregateTooLong(aggregate.length, MAX_AGGREGATE_LENGTH);
        if (bytes(bundleCid).length == 0) revert EmptyBundleCid();
        uint256 size = _groups.groupSize(job.groupId);
        if (count > size) revert CountAboveGroupSize(count, size);

        _hasProposed[jobId][msg.sender] = true;
        _openProposals[msg.sender] += 1;
        Proposal[] storage proposals = _proposals[jobId];
        index = proposals.length;
        proposals.push(
            Proposal({
                proposer: msg.sender, count: count, treeRoot: treeRoot, bundleCid: bundleCid, aggregate: aggregate
            })
        );
        emit ResultProposed(jobId, msg.sender, index, count, treeRoot, bundleCid);
    }

    /// @inheritdoc IJobRegistry
    function finalizeJob(JobId jobId) external {
        Job storage job = _job(jobId);
        if (job.state != JobState.Open) revert JobNotOpen(jobId, job.state);
        if (block.timestamp < job.proposalDeadline) revert ProposalWindowStillOpen(jobId, job.proposalDeadline);

        Proposal[] storage proposals = _proposals[jobId];
        uint256 n = proposals.length;
        uint256 best = type(uint256).max;
        uint32 bestCount = 0;
        for (uint256 i = 0; i < n; ++i) {
            address proposer = proposals[i].proposer;
            // Every proposer's open count was incremented when it proposed.
            unchecked {
                _openProposals[proposer] -= 1;
            }
            if (proposals[i].count > bestCount) {
                bestCount = proposals[i].count;
                best = i;
            }
        }

        uint256 reward = job.reward;
        if (best == type(uint256).max || bestCount < job.minParticipants) {
            job.state = JobState.Refunded;
            _balances[job.researcher] += reward;
            emit JobRefunded(jobId, job.researcher, reward);
        } else {
            job.state = JobState.Finalized;
            _winner[jobId] = best;
            address winner = proposals[best].proposer;
            _balances[winner] += reward;
            emit JobFinalized(jobId, winner, best, bestCount, reward);
        }
    }

    /// @inheritdoc IJobRegistry
    function withdraw() external {
        uint256 amount = _balances[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        _balances[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    // --------------------------------------------------------------- getters

    /// @inheritdoc IJobRegistry
    function getJob(JobId jobId) external view returns (Job memory) {
        return _job(jobId);
    }

    /// @inheritdoc IJobRegistry
    function jobCount() external view returns (uint256) {
        return _jobs.length;
    }

    /// @inheritdoc IJobRegistry
    function proposalCount(JobId jobId) external view returns (uint256) {
        _job(jobId);
        return _proposals[jobId].length;
    }

    /// @inheritdoc IJobRegistry
    function getProposal(JobId jobId, uint256 index) external view returns (Proposal memory) {
        _job(jobId);
        return _proposals[jobId][index];
    }

    /// @inheritdoc IJobRegistry
    function winningProposal(JobId jobId) external view returns (uint256) {
        Job storage job = _job(jobId);
        if (job.state != JobState.Finalized) revert JobNotOpen(jobId, job.state);
        return _winner[jobId];
    }

    /// @inheritdoc IJobRegistry
    function stakeOf(address operator) external view returns (uint256) {
        return _stakes[operator];
    }

    /// @inheritdoc IJobRegistry
    function unbondingOf(address operator) external view returns (uint256 amount, uint64 releaseAt) {
        return (_unbondingAmount[operator], _unbondingReleaseAt[operator]);
    }

    /// @inheritdoc IJobRegistry
    function openProposalsOf(address operator) external view returns (uint256) {
        return _openProposals[operator];
    }

    /// @inheritdoc IJobRegistry
    function balanceOf(address account) external view returns (uint256) {
        return _balances[account];
    }

    /// @inheritdoc IJobRegistry
    function unbondingDelay() external view returns (uint64) {
        return _unbondingDelay;
    }

    /// @inheritdoc IJobRegistry
    function avatarGroups() external view returns (address) {
        return address(_groups);
    }

    // -------------------------------------------------------------- internal

    function _job(JobId jobId) private view returns (Job storage) {
        uint256 id = JobId.unwrap(jobId);
        if (id == 0 || id > _jobs.length) revert JobNotFound(jobId);
        return _jobs[id - 1];
    }

    function _send(address to, uint256 amount) private {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed(to, amount);
    }
}
