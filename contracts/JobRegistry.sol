// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ISemaphoreVerifier} from "@semaphore-protocol/contracts/interfaces/ISemaphoreVerifier.sol";
import {IAvatarGroups} from "./interfaces/IAvatarGroups.sol";
import {IJobRegistry, JobId} from "./interfaces/IJobRegistry.sol";
import {ISubmissionJudge} from "./interfaces/ISubmissionJudge.sol";
import {ReduceTree} from "./lib/ReduceTree.sol";
import {SubmissionJudge} from "./SubmissionJudge.sol";

/// @title JobRegistry
/// @notice Anchors Mosaic jobs: spec digest, group root, reward escrow, reducer stakes, bonded proposals, one-call
/// fraud proofs against their reduce trees, slashing and payouts.
/// @dev Submissions never touch the chain, so gas per job does not depend on the number of participants; a fraud
/// proof costs one Merkle path (two for an order fault), logarithmic in them.
///
/// Accountability parameters. A proven fault costs the proposer its whole proposal bond plus SLASH_STAKE_BPS of
/// its current stake; CHALLENGER_SHARE_BPS of that total goes to the challenger and the rest is burned.
/// - 2.5% of stake, half to the challenger: The Graph's indexer slashing (fisherman reward 50%) — enough to hurt a
///   repeat offender without wiping out a reducer for one bug.
/// - A fixed bond lost whole: rollup practice (Optimism, Arbitrum assertions) — every claim has a known price even
///   when the stake is small, and it pays the challenger's gas.
/// - Data requests cost a tenth of the proposal bond: cheap enough that anyone can ask for an item they cannot fetch,
///   and paid to whoever answers, so asking an honest proposer for data it has compensates its gas.
/// - Burning the rest: were it all paid to the challenger, a proposer could challenge its own bad proposal from a
///   second address and get its stake back; burning makes that cost it half.
contract JobRegistry is IJobRegistry {
    /// @notice The longest aggregate (lifted state) a job may have.
    uint256 public constant MAX_AGGREGATE_LENGTH = 256;
    /// @notice The longest submission payload a job may have.
    uint16 public constant MAX_PAYLOAD_LENGTH = 64;
    /// @notice The most quantile edges a job may have.
    uint256 public constant MAX_EDGES = 63;
    /// @notice The share of its current stake a proposer loses on a proven fault, in basis points (2.5%).
    uint256 public constant SLASH_STAKE_BPS = 250;
    /// @notice The challenger's share of the slashed stake plus bond, in basis points (50%); the rest is burned.
    uint256 public constant CHALLENGER_SHARE_BPS = 5000;
    /// @notice Where the burned part of a slash is sent, so the contract holds exactly what it owes.
    address public constant BURN = 0x000000000000000000000000000000000000dEaD;

    /// @notice The shortest challenge window a job may have, as job specs require: a data request gets half of it to be
    /// answered, which must be several blocks, or an honest proposer could be slashed for not answering in time.
    uint64 public constant MIN_CHALLENGE_WINDOW = 60;
    /// @notice A data request's bond, in basis points of the proposal bond (10%).
    uint256 public constant DATA_REQUEST_BOND_BPS = 1000;

    /// @notice The most proposals a job may have: finalizeJob loops over them, so they bound its gas.
    uint256 public constant MAX_PROPOSALS = 32;
    /// @notice The most data requests one requester may make on one proposal: enough for a watcher to walk a
    /// 100,000-leaf tree (48), and a budget of its own, so no one can spend it for another. A proposer is paid a bond
    /// for every answer, so a flood of requesters pays the proposer it floods.
    uint256 public constant MAX_REQUESTS_PER_REQUESTER = 64;
    /// @notice The most challenge windows answers may add to a proposal's, so finalisation cannot be put off for long.
    uint256 public constant MAX_EXTENSION_WINDOWS = 16;
    /// @notice Each this many open requests on a proposal give a new one another responseTime to be answered.
    uint256 public constant REQUESTS_PER_RESPONSE = 16;

    uint256 private constant BPS = 10_000;
    /// @dev keccak256(abi.encode(new int256[](0))): the edges hash of every job but a quantile one. Those jobs have no
    /// edges to check, so the hash is not stored (a storage slot less per job); getJob fills it in.
    bytes32 private constant NO_EDGES_HASH = 0x569e75fc77c1a856f6daaf9e69d8a9566ca34aa47f9133711ce065a571af0cfd;

    IAvatarGroups private immutable _groups;
    ISubmissionJudge private immutable _judge;
    uint64 private immutable _unbondingDelay;
    uint256 private immutable _proposalBond;

    Job[] private _jobs;
    mapping(JobId => mapping(uint256 => Proposal)) private _proposals;
    mapping(JobId => mapping(address => bool)) private _hasProposed;

    /// @dev An operator's stake, open proposals and unbonding time share one slot, so commitResult checks the stake
    /// and counts the proposal in one storage write.
    struct Operator {
        uint128 staked;
        uint32 openProposals;
        uint64 unbondingReleaseAt;
    }

    mapping(address => Operator) private _operators;
    mapping(address => uint256) private _unbondingAmount;
    mapping(address => uint256) private _balances;
    /// @dev keccak256(abi.encode(jobId, index, level, position)) => the request.
    mapping(bytes32 => DataRequest) private _requests;
    /// @dev keccak256(abi.encode(jobId, index, requester)) => data requests it made on that proposal.
    mapping(bytes32 => uint256) private _requestsBy;

    /// @param groups_ The avatar groups contract jobs draw their group roots from.
    /// @param verifier The stock Semaphore Groth16 verifier, for submission fraud proofs.
    /// @param unbondingDelay_ Seconds a reducer waits to withdraw stake; every challenge window must be under half.
    /// @param proposalBond_ The value every proposal carries, lost whole on a proven fault.
    constructor(IAvatarGroups groups_, ISemaphoreVerifier verifier, uint64 unbondingDelay_, uint256 proposalBond_) {
        _groups = groups_;
        _judge = new SubmissionJudge(verifier);
        _unbondingDelay = unbondingDelay_;
        _proposalBond = proposalBond_;
    }

    // ---------------------------------------------------------------- stakes

    /// @inheritdoc IJobRegistry
    function stake() external payable {
        if (msg.value == 0) revert ZeroAmount();
        Operator storage op = _operators[msg.sender];
        uint256 total = op.staked + msg.value;
        if (total > type(uint128).max) revert ValueTooLarge(total, type(uint128).max);
        // Checked against type(uint128).max above.
        op.staked = uint128(total);
        emit Staked(msg.sender, msg.value, total);
    }

    /// @inheritdoc IJobRegistry
    function requestUnstake(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        Operator memory op = _operators[msg.sender];
        if (amount > op.staked) revert InsufficientStake(msg.sender, op.staked, amount);
        if (op.openProposals != 0) revert HasOpenProposals(msg.sender, op.openProposals);
        uint64 releaseAt = uint64(block.timestamp) + _unbondingDelay;
        // amount <= staked < 2^128 was checked above.
        op.staked = uint128(op.staked - amount);
        op.unbondingReleaseAt = releaseAt;
        _operators[msg.sender] = op;
        _unbondingAmount[msg.sender] += amount;
        emit UnstakeRequested(msg.sender, amount, releaseAt);
    }

    /// @inheritdoc IJobRegistry
    function withdrawStake() external {
        uint256 amount = _unbondingAmount[msg.sender];
        if (amount == 0) revert NothingUnbonding(msg.sender);
        Operator storage op = _operators[msg.sender];
        uint64 releaseAt = op.unbondingReleaseAt;
        if (block.timestamp < releaseAt) revert StillUnbonding(msg.sender, releaseAt);
        _unbondingAmount[msg.sender] = 0;
        op.unbondingReleaseAt = 0;
        emit StakeWithdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    // ------------------------------------------------------------------ jobs

    /// @inheritdoc IJobRegistry
    function postJob(
        bytes32 specDigest,
        uint256 groupId,
        uint32 minParticipants,
        uint64 collectionDeadline,
        uint64 challengeWindow,
        uint256 minStake,
        ReduceParams calldata reduce
    ) external payable returns (JobId jobId) {
        if (specDigest == bytes32(0)) revert ZeroSpecDigest();
        if (msg.value == 0) revert NoReward();
        if (msg.value > type(uint96).max) revert ValueTooLarge(msg.value, type(uint96).max);
        if (minStake > type(uint96).max) revert ValueTooLarge(minStake, type(uint96).max);
        if (minParticipants == 0) revert ZeroMinParticipants();
        if (collectionDeadline <= block.timestamp) revert DeadlineInPast(collectionDeadline, block.timestamp);
        // Proposals and then fraud proofs each get a window: a reducer must not be able to unbond before both close.
        if (challengeWindow < MIN_CHALLENGE_WINDOW || 2 * uint256(challengeWindow) >= _unbondingDelay) {
            revert InvalidChallengeWindow(challengeWindow, _unbondingDelay);
        }
        uint16 width = _checkReduce(reduce);

        Job storage job = _jobs.push();
        {
            uint256 size = _groups.groupSize(groupId);
            if (size == 0) revert GroupHasNoMembers(groupId);
            // A group of over 2^32 - 1 members counts as 2^32 - 1 (no count can reach it anyway).
            job.groupSize = size > type(uint32).max ? type(uint32).max : uint32(size);
        }
        job.researcher = msg.sender;
        job.kind = reduce.kind;
        job.payloadLength = reduce.payloadLength;
        job.stateLength = width;
        job.specDigest = specDigest;
        job.groupRoot = _groups.groupRoot(groupId);
        // Both were checked against type(uint96).max above.
        job.reward = uint96(msg.value);
        job.minStake = uint96(minStake);
        bytes32 edgesHash = keccak256(abi.encode(reduce.edges));
        if (reduce.kind == ReduceTree.QUANTILE) job.edgesHash = edgesHash; // Others have none: see NO_EDGES_HASH.
        job.boundsHash = keccak256(abi.encode(reduce.min, reduce.max));
        job.collectionDeadline = collectionDeadline;
        job.proposalDeadline = collectionDeadline + challengeWindow;
        job.finalizeAfter = collectionDeadline + 2 * challengeWindow;
        job.minParticipants = minParticipants;
        job.state = JobState.Open;
        jobId = JobId.wrap(_jobs.length);
        emit JobPosted(
            jobId, msg.sender, specDigest, groupId, job.groupRoot, msg.value, collectionDeadline, job.proposalDeadline
        );
        emit JobReduceParams(jobId, reduce.kind, reduce.payloadLength, reduce.edges, edgesHash, job.finalizeAfter);
        emit JobBounds(jobId, reduce.min, reduce.max, job.boundsHash);
    }

    /// @inheritdoc IJobRegistry
    function commitResult(JobId jobId, bytes32 commitment) external payable returns (uint256 index) {
        Job storage job = _proposalWindow(jobId);
        if (msg.value != _proposalBond) revert WrongBond(msg.value, _proposalBond);
        Operator storage op = _operators[msg.sender];
        uint256 staked = op.staked;
        if (staked < job.minStake || staked == 0) revert StakeTooLow(msg.sender, staked, job.minStake);
        if (_hasProposed[jobId][msg.sender]) revert AlreadyProposed(jobId, msg.sender);
        index = job.proposalCount;
        if (index >= MAX_PROPOSALS) revert ProposalLimitReached(jobId, MAX_PROPOSALS);

        _hasProposed[jobId][msg.sender] = true;
        // Checked: 2^32 - 1 open proposals would take more bonds and gas than exist.
        op.openProposals += 1;
        // index < MAX_PROPOSALS = 32 fits uint8.
        job.proposalCount = uint8(index + 1);
        Proposal storage p = _proposals[jobId][index];
        p.proposer = msg.sender;
        p.state = ProposalState.Committed;
        p.treeRoot = commitment;
        emit ResultCommitted(jobId, msg.sender, index, commitment);
    }

    /// @inheritdoc IJobRegistry
    function proposeResult(
        JobId jobId,
        uint256 index,
        int256[] calldata aggregate,
        uint32 count,
        bytes32 treeRoot,
        string calldata bundleCid
    ) external {
        Job storage job = _proposalWindow(jobId);
        if (index >= job.proposalCount) revert ProposalNotFound(jobId, index);
        Proposal storage p = _proposals[jobId][index];
        if (p.state != ProposalState.Committed) revert WrongProposalState(jobId, index, p.state);
        if (aggregate.length != job.stateLength) revert AggregateLengthMismatch(aggregate.length, job.stateLength);
        if (bytes(bundleCid).length == 0) revert EmptyBundleCid();
        if (count < job.minParticipants) revert CountBelowMinimum(count, job.minParticipants);
        if (count > job.groupSize) revert CountAboveGroupSize(count, job.groupSize);
        bytes32 aggregateHash = keccak256(abi.encode(aggregate));
        // Only the committer can open its commitment: msg.sender is hashed in.
        bytes32 computed = _commitment(msg.sender, jobId, count, treeRoot, aggregateHash);
        if (computed != p.treeRoot) revert CommitmentMismatch(jobId, index, computed, p.treeRoot);

        p.count = count;
        p.state = ProposalState.Revealed;
        p.treeRoot = treeRoot;
        p.aggregateHash = aggregateHash;
        emit ResultProposed(jobId, msg.sender, index, count, treeRoot, aggregate, bundleCid);
    }

    // --------------------------------------------------------- fraud proofs

    /// @inheritdoc IJobRegistry
    function challengeRoot(JobId jobId, uint256 index, int256[] calldata aggregate, Inner calldata root) external {
        (, Proposal storage p) = _challengeable(jobId, index);
        if (p.count < 2) revert UnexpectedCount(jobId, index, p.count);
        _checkAggregate(p, aggregate);
        bytes32 h = ReduceTree.innerHash(root);
        if (h != p.treeRoot) revert NotInTree(h, p.treeRoot);
        if (!ReduceTree.differs(root.value, aggregate)) revert NoFault(jobId, index, FaultKind.Root);
        _fault(jobId, index, p, FaultKind.Root, msg.sender);
    }

    /// @inheritdoc IJobRegistry
    function challengeRootLeaf(
        JobId jobId,
        uint256 index,
        int256[] calldata aggregate,
        Leaf calldata leaf,
        int256[] calldata edges
    ) external {
        (Job storage job, Proposal storage p) = _challengeable(jobId, index);
        if (p.count != 1) revert UnexpectedCount(jobId, index, p.count);
        _checkAggregate(p, aggregate);
        bytes32 h = ReduceTree.leafHash(leaf);
        if (h != p.treeRoot) revert NotInTree(h, p.treeRoot);
        _checkEdges(job, edges);
        int256[] memory state = new int256[](job.stateLength);
        bool fault = !ReduceTree.addLifted(state, job.kind, job.payloadLength, leaf.payload, edges)
            || ReduceTree.differs(aggregate, state);
        if (!fault) revert NoFault(jobId, index, FaultKind.RootLeaf);
        _fault(jobId, index, p, FaultKind.RootLeaf, msg.sender);
    }

    /// @inheritdoc IJobRegistry
    function challengeLeafParent(
        JobId jobId,
        uint256 index,
        uint256 position,
        Inner calldata node,
        Leaf calldata left,
        Leaf calldata right,
        Ancestor[] calldata path,
        int256[] calldata edges
    ) external {
        (Job storage job, Proposal storage p) = _challengeable(jobId, index);
        if (!ReduceTree.isPair(p.count, 1, position)) revert NoSuchNode(1, position);
        _checkChild(node.left, ReduceTree.leafHash(left));
        _checkChild(node.right, ReduceTree.leafHash(right));
        _checkInTree(p, ReduceTree.innerHash(node), 1, position, path);
        _checkEdges(job, edges);
        int256[] memory state = new int256[](job.stateLength);
        bool fault = !ReduceTree.addLifted(state, job.kind, job.payloadLength, left.payload, edges)
            || !ReduceTree.addLifted(state, job.kind, job.payloadLength, right.payload, edges)
            || ReduceTree.differs(node.value, state);
        if (!fault) revert NoFault(jobId, index, FaultKind.LeafParent);
        _fault(jobId, index, p, FaultKind.LeafParent, msg.sender);
    }

    /// @inheritdoc IJobRegistry
    function challengeInnerNode(
        JobId jobId,
        uint256 index,
        uint256 level,
        uint256 position,
        Inner calldata node,
        Inner calldata left,
        Inner calldata right,
        Ancestor[] calldata path
    ) external {
        (Job storage job, Proposal storage p) = _challengeable(jobId, index);
        if (level < 2) revert InvalidLevel(level);
        if (!ReduceTree.isPair(p.count, level, position)) revert NoSuchNode(level, position);
        // A carried leaf has no Inner preimage: its parent is challenged with challengeCarriedLeafParent.
        if (ReduceTree.isCarriedLeaf(p.count, level - 1, 2 * position + 1)) revert WrongChildKind(level - 1, 2 * position + 1);
        _checkChild(node.left, ReduceTree.innerHash(left));
        _checkChild(node.right, ReduceTree.innerHash(right));
        _checkInTree(p, ReduceTree.innerHash(node), level, position, path);
        if (!ReduceTree.pairDiffers(node.value, left.value, right.value, job.stateLength)) {
            revert NoFault(jobId, index, FaultKind.InnerNode);
        }
        _fault(jobId, index, p, FaultKind.InnerNode, msg.sender);
    }

    /// @inheritdoc IJobRegistry
    function challengeCarriedLeafParent(
        JobId jobId,
        uint256 index,
        uint256 level,
        uint256 position,
        Inner calldata node,
        Inner calldata left,
        Leaf calldata right,
        Ancestor[] calldata path,
        int256[] calldata edges
    ) external {
        (Job storage job, Proposal storage p) = _challengeable(jobId, index);
        if (level < 2) revert InvalidLevel(level);
        if (!ReduceTree.isPair(p.count, level, position)) revert NoSuchNode(level, position);
        if (!ReduceTree.isCarriedLeaf(p.count, level - 1, 2 * position + 1)) revert WrongChildKind(level - 1, 2 * position + 1);
        _checkChild(node.left, ReduceTree.innerHash(left));
        _checkChild(node.right, ReduceTree.leafHash(right));
        _checkInTree(p, ReduceTree.innerHash(node), level, position, path);
        _checkEdges(job, edges);
        bool fault = left.value.length != job.stateLength;
        if (!fault) {
            int256[] memory state = left.value;
            fault = !ReduceTree.addLifted(state, job.kind, job.payloadLength, right.payload, edges)
                || ReduceTree.differs(node.value, state);
        }
        if (!fault) revert NoFault(jobId, index, FaultKind.CarriedLeafParent);
        _fault(jobId, index, p, FaultKind.CarriedLeafParent, msg.sender);
    }

    /// @inheritdoc IJobRegistry
    function challengeOrder(
        JobId jobId,
        uint256 index,
        uint256 position,
        Leaf calldata a,
        Ancestor[] calldata pathA,
        Leaf calldata b,
        Ancestor[] calldata pathB
    ) external {
        (, Proposal storage p) = _challengeable(jobId, index);
        if (p.count < 2 || position >= p.count - 1) revert NoSuchNode(0, position);
        _checkInTree(p, ReduceTree.leafHash(a), 0, position, pathA);
        _checkInTree(p, ReduceTree.leafHash(b), 0, position + 1, pathB);
        if (a.nullifier < b.nullifier) revert NoFault(jobId, index, FaultKind.Order);
        _fault(jobId, index, p, FaultKind.Order, msg.sender);
    }

    /// @inheritdoc IJobRegistry
    function challengeSubmission(
        JobId jobId,
        uint256 index,
        uint256 position,
        Leaf calldata leaf,
        Ancestor[] calldata path,
        ISubmissionJudge.Envelope calldata envelope,
        Bounds calldata bounds
    ) external {
        (Job storage job, Proposal storage p) = _challengeable(jobId, index);
        _checkInTree(p, ReduceTree.leafHash(leaf), 0, position, path);
        ISubmissionJudge.Verdict verdict = _verdict(jobId, job, leaf, envelope, bounds);
        FaultKind kind;
        if (verdict == ISubmissionJudge.Verdict.Valid) revert NoFault(jobId, index, FaultKind.SubmissionProof);
        else if (verdict == ISubmissionJudge.Verdict.LeafMismatch) kind = FaultKind.SubmissionMismatch;
        else if (verdict == ISubmissionJudge.Verdict.OutOfBounds) kind = FaultKind.SubmissionBounds;
        else kind = FaultKind.SubmissionProof;
        emit SubmissionFaulted(jobId, index, position, verdict);
        _fault(jobId, index, p, kind, msg.sender);
    }

    // ----------------------------------------------------- data availability

    /// @inheritdoc IJobRegistry
    function requestData(JobId jobId, uint256 index, DataItem[] calldata items) external payable {
        (Job storage job, Proposal storage p) = _challengeable(jobId, index);
        uint256 n = items.length;
        if (n == 0) revert NoItems();
        uint256 required = dataRequestBond() * n;
        if (msg.value != required) revert WrongRequestBond(msg.value, required);
        uint64 response = _responseTime(job);
        uint64 deadline = _challengeDeadline(job, p);
        if (block.timestamp + response > deadline) revert RequestWindowClosed(jobId, deadline - response);
        bytes32 by = keccak256(abi.encode(jobId, index, msg.sender));
        uint256 made = _requestsBy[by] + n;
        if (made > MAX_REQUESTS_PER_REQUESTER) revert TooManyRequests(jobId, index, made, MAX_REQUESTS_PER_REQUESTER);
        _requestsBy[by] = made;
        uint256 open = p.openRequests;
        for (uint256 k = 0; k < n; ++k) {
            // Every REQUESTS_PER_RESPONSE requests already open push this one's due time one responseTime later.
            _newRequest(jobId, index, p.count, items[k], uint64(block.timestamp + response * (1 + open / REQUESTS_PER_RESPONSE)));
            ++open;
        }
        // 65,536 open requests would cost their requesters thousands of bonds and billions of gas; refuse beyond.
        if (open > type(uint16).max) revert TooManyOpenRequests(jobId, index, open);
        p.openRequests = uint16(open);
    }

    /// @inheritdoc IJobRegistry
    function answerData(JobId jobId, uint256 index, LeafAnswer[] calldata leaves, NodeAnswer[] calldata nodes) external {
        // Not _challengeable: a request may fall due after the challenge deadline (when many are open), and its
        // answer must still be accepted until then; each request's own due time is checked below.
        Job storage job = _job(jobId);
        if (job.state != JobState.Open) revert JobNotOpen(jobId, job.state);
        if (index >= job.proposalCount) revert ProposalNotFound(jobId, index);
        Proposal storage p = _proposals[jobId][index];
        if (p.faulted) revert ProposalAlreadyFaulted(jobId, index);
        if (leaves.length + nodes.length == 0) revert NoItems();
        // Items no longer open (answered by someone else first, or past due) are skipped, not fatal: otherwise anyone
        // could make an honest proposer's whole batch fail by answering one of its items first.
        uint256 answered = 0;
        for (uint256 k = 0; k < leaves.length; ++k) {
            LeafAnswer calldata a = leaves[k];
            if (!_isAnswerable(jobId, index, 0, a.position)) continue;
            _checkInTree(p, ReduceTree.leafHash(a.leaf), 0, a.position, a.path);
            bytes32 h = _judge.digest(a.envelope);
            if (h != a.leaf.digest) revert ISubmissionJudge.EnvelopeMismatch(h, a.leaf.digest);
            emit LeafPublished(jobId, index, a.position, a.leaf, a.envelope);
            _answered(jobId, index, 0, a.position);
            ++answered;
        }
        for (uint256 k = 0; k < nodes.length; ++k) {
            NodeAnswer calldata a = nodes[k];
            if (a.level == 0) revert InvalidLevel(0);
            if (!_isAnswerable(jobId, index, a.level, a.position)) continue;
            _checkInTree(p, ReduceTree.innerHash(a.node), a.level, a.position, a.path);
            emit NodePublished(jobId, index, a.level, a.position, a.node);
            _answered(jobId, index, a.level, a.position);
            ++answered;
        }
        if (answered == 0) revert NothingToAnswer(jobId, index);
        // Each answered request was open on p, so openRequests >= answered.
        p.openRequests -= uint16(answered);
        _balances[msg.sender] += dataRequestBond() * answered;
        // What was just published must be checkable, and may show which children to ask for next: the proposal stays
        // open to requests for another responseTime and to fraud proofs for two, up to MAX_EXTENSION_WINDOWS windows
        // past finalizeAfter, so answers cannot put finalisation off for long.
        uint256 response = _responseTime(job);
        uint256 until = block.timestamp + 2 * response;
        uint256 latest = job.finalizeAfter + MAX_EXTENSION_WINDOWS * 2 * response;
        if (until > latest) until = latest;
        if (until > _challengeDeadline(job, p)) {
            uint256 extension = until - job.finalizeAfter;
            p.extension = extension > type(uint32).max ? type(uint32).max : uint32(extension);
            emit ChallengeWindowExtended(jobId, index, uint64(job.finalizeAfter + p.extension));
        }
    }

    /// @inheritdoc IJobRegistry
    function settleDataRequest(JobId jobId, uint256 index, uint256 level, uint256 position) external {
        Job storage job = _job(jobId);
        if (index >= job.proposalCount) revert ProposalNotFound(jobId, index);
        Proposal storage p = _proposals[jobId][index];
        DataRequest storage r = _openRequest(jobId, index, level, position);
        r.state = RequestState.Settled;
        p.openRequests -= 1;
        address requester = r.requester;
        bool faults = !p.faulted;
        if (faults) {
            // An open request on an unfaulted proposal means the job is still open: finalizeJob waits for it.
            if (block.timestamp < r.dueAt) revert RequestNotDue(jobId, index, r.dueAt);
            assert(job.state == JobState.Open);
        }
        _balances[requester] += dataRequestBond();
        emit DataRequestSettled(jobId, index, level, position, requester, faults);
        if (faults) _fault(jobId, index, p, FaultKind.Unavailable, requester);
    }

    // ------------------------------------------------------------- payouts

    /// @inheritdoc IJobRegistry
    function finalizeJob(JobId jobId) external {
        Job storage job = _job(jobId);
        if (job.state != JobState.Open) revert JobNotOpen(jobId, job.state);
        if (block.timestamp < job.finalizeAfter) revert ChallengeWindowStillOpen(jobId, job.finalizeAfter);

        // One storage read per proposal, at most MAX_PROPOSALS of them: the cost is bounded whatever was posted.
        uint256 n = job.proposalCount;
        uint256 best = type(uint256).max;
        uint32 bestCount = 0;
        for (uint256 i = 0; i < n; ++i) {
            Proposal storage p = _proposals[jobId][i];
            if (p.state != ProposalState.Revealed || p.faulted) continue;
            if (p.openRequests != 0) revert DataRequestsOpen(jobId, i, p.openRequests);
            uint64 deadline = _challengeDeadline(job, p);
            if (block.timestamp < deadline) revert ChallengeWindowStillOpen(jobId, deadline);
            // Strictly greater: the earliest committed of equal counts wins.
            if (p.count > bestCount) {
                bestCount = p.count;
                best = i;
            }
        }

        uint256 reward = job.reward;
        if (best == type(uint256).max) {
            job.state = JobState.Refunded;
            _balances[job.researcher] += reward;
            emit JobRefunded(jobId, job.researcher, reward);
        } else {
            job.state = JobState.Finalized;
            // best < proposalCount <= MAX_PROPOSALS fits uint8; it shares the slot just written with the state.
            job.winner = uint8(best);
            address winner = _proposals[jobId][best].proposer;
            _balances[winner] += reward;
            emit JobFinalized(jobId, winner, best, bestCount, reward);
            _returnBond(jobId, best, _proposals[jobId][best]);
        }
    }

    /// @inheritdoc IJobRegistry
    function claimBond(JobId jobId, uint256 index) external {
        Job storage job = _job(jobId);
        if (job.state == JobState.Open) revert JobStillOpen(jobId);
        if (index >= job.proposalCount) revert ProposalNotFound(jobId, index);
        Proposal storage p = _proposals[jobId][index];
        if (p.faulted) revert ProposalAlreadyFaulted(jobId, index);
        if (p.state == ProposalState.Revealed) return _returnBond(jobId, index, p);
        if (p.state != ProposalState.Committed) revert WrongProposalState(jobId, index, p.state);
        p.state = ProposalState.Forfeited;
        address proposer = p.proposer;
        // A committed proposal is counted once in its proposer's open proposals until it is closed, forfeited or faulted.
        unchecked {
            _operators[proposer].openProposals -= 1;
        }
        emit BondForfeited(jobId, index, proposer, _proposalBond);
        _send(BURN, _proposalBond);
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
    function getJob(JobId jobId) external view returns (Job memory job) {
        job = _job(jobId);
        if (job.kind != ReduceTree.QUANTILE) job.edgesHash = NO_EDGES_HASH;
    }

    /// @inheritdoc IJobRegistry
    function jobCount() external view returns (uint256) {
        return _jobs.length;
    }

    /// @inheritdoc IJobRegistry
    function proposalCount(JobId jobId) external view returns (uint256) {
        return _job(jobId).proposalCount;
    }

    /// @inheritdoc IJobRegistry
    function getProposal(JobId jobId, uint256 index) external view returns (Proposal memory) {
        if (index >= _job(jobId).proposalCount) revert ProposalNotFound(jobId, index);
        return _proposals[jobId][index];
    }

    /// @inheritdoc IJobRegistry
    function winningProposal(JobId jobId) external view returns (uint256) {
        Job storage job = _job(jobId);
        if (job.state != JobState.Finalized) revert JobNotOpen(jobId, job.state);
        return job.winner;
    }

    /// @inheritdoc IJobRegistry
    function stakeOf(address operator) external view returns (uint256) {
        return _operators[operator].staked;
    }

    /// @inheritdoc IJobRegistry
    function unbondingOf(address operator) external view returns (uint256 amount, uint64 releaseAt) {
        return (_unbondingAmount[operator], _operators[operator].unbondingReleaseAt);
    }

    /// @inheritdoc IJobRegistry
    function openProposalsOf(address operator) external view returns (uint256) {
        return _operators[operator].openProposals;
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
    function proposalBond() external view returns (uint256) {
        return _proposalBond;
    }


    /// @inheritdoc IJobRegistry
    function getDataRequest(JobId jobId, uint256 index, uint256 level, uint256 position)
        external
        view
        returns (DataRequest memory)
    {
        return _requests[_requestKey(jobId, index, level, position)];
    }


    /// @inheritdoc IJobRegistry
    function dataRequestBond() public view returns (uint256) {
        return _proposalBond * DATA_REQUEST_BOND_BPS / BPS;
    }

    /// @inheritdoc IJobRegistry
    function submissionJudge() external view returns (address) {
        return address(_judge);
    }

    // -------------------------------------------------------------- internal

    function _job(JobId jobId) private view returns (Job storage) {
        uint256 id = JobId.unwrap(jobId);
        if (id == 0 || id > _jobs.length) revert JobNotFound(jobId);
        return _jobs[id - 1];
    }

    /// @dev Checks a job's reducer and returns its lifted state length.
    function _checkReduce(ReduceParams calldata reduce) private pure returns (uint16) {
        uint8 kind = reduce.kind;
        if (kind > ReduceTree.QUANTILE) revert InvalidReducerKind(kind);
        if (reduce.payloadLength == 0 || reduce.payloadLength > MAX_PAYLOAD_LENGTH) {
            revert InvalidPayloadLength(reduce.payloadLength);
        }
        int256[] calldata edges = reduce.edges;
        if (kind == ReduceTree.QUANTILE ? edges.length == 0 || edges.length > MAX_EDGES : edges.length != 0) {
            revert InvalidEdgeCount(kind, edges.length);
        }
        for (uint256 i = 1; i < edges.length; ++i) {
            if (edges[i] <= edges[i - 1]) revert EdgesNotIncreasing(i, edges[i - 1], edges[i]);
        }
        int256[] calldata min = reduce.min;
        int256[] calldata max = reduce.max;
        if (min.length != reduce.payloadLength || max.length != reduce.payloadLength) {
            revert BoundsLengthMismatch(min.length, max.length, reduce.payloadLength);
        }
        for (uint256 i = 0; i < min.length; ++i) {
            if (min[i] > max[i]) revert InvalidBounds(i, min[i], max[i]);
        }
        uint256 width = ReduceTree.liftedLength(kind, reduce.payloadLength, edges.length);
        if (width > MAX_AGGREGATE_LENGTH) revert AggregateTooLong(width, MAX_AGGREGATE_LENGTH);
        // width <= MAX_AGGREGATE_LENGTH = 256 was checked above.
        return uint16(width);
    }

    /// @dev The job, if proposals may be committed and revealed now.
    function _proposalWindow(JobId jobId) private view returns (Job storage job) {
        job = _job(jobId);
        if (job.state != JobState.Open) revert JobNotOpen(jobId, job.state);
        if (block.timestamp < job.collectionDeadline) revert CollectionStillOpen(jobId, job.collectionDeadline);
        if (block.timestamp >= job.proposalDeadline) revert ProposalWindowClosed(jobId, job.proposalDeadline);
    }

    /// @dev The job and revealed proposal a fraud proof or data request is about, if it may still be challenged.
    function _challengeable(JobId jobId, uint256 index) private view returns (Job storage job, Proposal storage p) {
        job = _job(jobId);
        if (job.state != JobState.Open) revert JobNotOpen(jobId, job.state);
        if (index >= job.proposalCount) revert ProposalNotFound(jobId, index);
        p = _proposals[jobId][index];
        uint64 deadline = _challengeDeadline(job, p);
        if (block.timestamp >= deadline) revert ChallengeWindowClosed(jobId, deadline);
        if (p.faulted) revert ProposalAlreadyFaulted(jobId, index);
        if (p.state != ProposalState.Revealed) revert WrongProposalState(jobId, index, p.state);
    }

    function _commitment(address proposer, JobId jobId, uint32 count, bytes32 treeRoot, bytes32 aggregateHash)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(proposer, jobId, count, treeRoot, aggregateHash));
    }

    function _checkAggregate(Proposal storage p, int256[] calldata aggregate) private view {
        bytes32 h = keccak256(abi.encode(aggregate));
        if (h != p.aggregateHash) revert AggregateHashMismatch(h, p.aggregateHash);
    }

    /// @dev Closes a revealed, unfaulted proposal of a closed job: its bond back to the proposer's balance.
    function _returnBond(JobId jobId, uint256 index, Proposal storage p) private {
        p.state = ProposalState.Closed;
        address proposer = p.proposer;
        // A committed proposal is counted once in its proposer's open proposals until it is closed, forfeited or faulted.
        unchecked {
            _operators[proposer].openProposals -= 1;
        }
        _balances[proposer] += _proposalBond;
        emit BondReturned(jobId, index, proposer, _proposalBond);
    }

    /// @dev The judge's verdict on a leaf's submission, given the job's bounds (checked against its hash).
    function _verdict(
        JobId jobId,
        Job storage job,
        Leaf calldata leaf,
        ISubmissionJudge.Envelope calldata envelope,
        Bounds calldata bounds
    ) private view returns (ISubmissionJudge.Verdict) {
        bytes32 h = keccak256(abi.encode(bounds.min, bounds.max));
        if (h != job.boundsHash) revert BoundsMismatch(h, job.boundsHash);
        return _judge.judge(envelope, leaf.digest, _expected(jobId, job, leaf, bounds));
    }

    /// @dev What a leaf's submission must match for a job.
    function _expected(JobId jobId, Job storage job, Leaf calldata leaf, Bounds calldata bounds)
        private
        view
        returns (ISubmissionJudge.Expected memory)
    {
        return ISubmissionJudge.Expected({
            chainId: block.chainid,
            registry: address(this),
            jobId: JobId.unwrap(jobId),
            groupRoot: job.groupRoot,
            nullifier: leaf.nullifier,
            payload: leaf.payload,
            min: bounds.min,
            max: bounds.max
        });
    }

    /// @dev When fraud proofs on `p` close: finalizeAfter, later if data was published late in the window.
    function _challengeDeadline(Job storage job, Proposal storage p) private view returns (uint64) {
        return job.finalizeAfter + p.extension;
    }

    /// @dev Half the challenge window: a proposer's time to answer a data request.
    function _responseTime(Job storage job) private view returns (uint64) {
        return (job.finalizeAfter - job.proposalDeadline) / 2;
    }

    function _requestKey(JobId jobId, uint256 index, uint256 level, uint256 position) private pure returns (bytes32) {
        return keccak256(abi.encode(jobId, index, level, position));
    }

    function _openRequest(JobId jobId, uint256 index, uint256 level, uint256 position)
        private
        view
        returns (DataRequest storage r)
    {
        r = _requests[_requestKey(jobId, index, level, position)];
        if (r.state != RequestState.Open) revert RequestNotOpen(jobId, index, level, position, r.state);
    }

    /// @dev Records a new data request on the item, which must exist in a `count`-leaf tree and not be asked already.
    function _newRequest(JobId jobId, uint256 index, uint32 count, DataItem calldata item, uint64 dueAt) private {
        (uint256 level, uint256 position) = (item.level, item.position);
        if (level == 0 ? position >= count : !ReduceTree.isPair(count, level, position)) revert NoSuchNode(level, position);
        DataRequest storage r = _requests[_requestKey(jobId, index, level, position)];
        if (r.state != RequestState.None) revert DataAlreadyRequested(jobId, index, level, position);
        r.requester = msg.sender;
        r.dueAt = dueAt;
        r.state = RequestState.Open;
        emit DataRequested(jobId, index, level, position, msg.sender, dueAt);
    }

    /// @dev Whether the request on (level, position) is open and not yet due.
    function _isAnswerable(JobId jobId, uint256 index, uint256 level, uint256 position) private view returns (bool) {
        DataRequest storage r = _requests[_requestKey(jobId, index, level, position)];
        return r.state == RequestState.Open && block.timestamp < r.dueAt;
    }


    /// @dev Closes an answered request (its bond pays whoever answered, for the gas: answerData credits them at once).
    function _answered(JobId jobId, uint256 index, uint256 level, uint256 position) private {
        _requests[_requestKey(jobId, index, level, position)].state = RequestState.Answered;
    }

    function _checkChild(bytes32 claimed, bytes32 computed) private pure {
        if (claimed != computed) revert ChildHashMismatch(claimed, computed);
    }

    function _checkInTree(Proposal storage p, bytes32 h, uint256 level, uint256 position, Ancestor[] calldata path)
        private
        view
    {
        bytes32 root = ReduceTree.rootOf(h, p.count, level, position, path);
        if (root != p.treeRoot) revert NotInTree(root, p.treeRoot);
    }

    /// @dev Quantile leaves are lifted with the job's edges, so a witness must bring exactly those.
    function _checkEdges(Job storage job, int256[] calldata edges) private view {
        if (job.kind != ReduceTree.QUANTILE) return;
        bytes32 h = keccak256(abi.encode(edges));
        if (h != job.edgesHash) revert EdgesMismatch(h, job.edgesHash);
    }

    /// @dev Slashes a proven fault: the bond and SLASH_STAKE_BPS of the stake, CHALLENGER_SHARE_BPS of it owed
    /// to the challenger and the rest burned.
    function _fault(JobId jobId, uint256 index, Proposal storage p, FaultKind kind, address challenger) private {
        p.faulted = true;
        address proposer = p.proposer;
        Operator memory op = _operators[proposer];
        uint256 slashedStake = uint256(op.staked) * SLASH_STAKE_BPS / BPS;
        // An unfaulted proposal of an open job is counted once in its proposer's open proposals, and
        // slashedStake <= staked since SLASH_STAKE_BPS <= BPS.
        unchecked {
            op.openProposals -= 1;
            op.staked -= uint128(slashedStake);
        }
        _operators[proposer] = op;
        uint256 bond = _proposalBond;
        uint256 total = slashedStake + bond;
        uint256 challengerReward = total * CHALLENGER_SHARE_BPS / BPS;
        uint256 burned = total - challengerReward;
        _balances[challenger] += challengerReward;
        emit ProposalFaulted(jobId, index, proposer, challenger, kind, slashedStake, bond, challengerReward, burned);
        if (burned != 0) _send(BURN, burned);
    }

    function _send(address to, uint256 amount) private {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed(to, amount);
    }
}
