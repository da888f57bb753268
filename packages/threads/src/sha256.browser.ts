// SHA-256 in the browser through @noble/hashes (synchronous, as block naming needs; WebCrypto's digest is async).
export { sha256 } from "@noble/hashes/sha2";
