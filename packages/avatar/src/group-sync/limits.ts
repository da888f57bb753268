// The bounds a group sync holds events and cache files to, and the slice size it hashes additions in.

export const MAX_UINT256 = (1n << 256n) - 1n;
// A LeanIMT leaf index is a JS number shifted with `>>` by @zk-kit/lean-imt; the contract caps depth at 32.
export const MAX_SIZE = 2 ** 31 - 1;
// Additions are hashed in slices of at most this many leaves, so an abort or progress report is never far off.
export const ADD_SLICE = 8192;
