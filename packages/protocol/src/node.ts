// @mosaic/protocol in Node: the portable core plus the runtime (JSON-RPC chain connection, deployment, key files, the
// Helia/libp2p TCP node, the atomic file write). Node consumers get this entry through the package's "default" export condition.
export * from "./index.js";
export {
  type ChainConnection,
  ChainTimeFixedError,
  type ConnectChainInit,
  connectChain,
  type DeployInit,
  deployMosaic,
  deployVaultRecovery,
  fundedWallet,
  readWalletKey,
} from "./chain.node.js";
export { FileExistsError, type WriteFileAtomicOptions, writeFileAtomic } from "./files.node.js";
export { createIpfsNode, type IpfsNodeInit } from "./ipfs.node.js";
export { loadOrCreatePeerKey, PeerKeyCorruptError } from "./peer-key.node.js";
export { checkNetworkChain, type LoadedNetwork, loadNetwork, networkFilePath, writeNetworkFile } from "./network.node.js";
