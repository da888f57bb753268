// @mosaic/threads in Node: the portable core plus what needs a file system (LevelDB stores, archive files, the sealed
// seed's file). Node consumers get this entry through the package's "default" export condition.
export * from "./index.js";
export { exportThread, importThread } from "./archive.node.js";
export { type DiskStores, openDiskStores } from "./disk.node.js";
export { readSeedFile, writeSeedFile } from "./seed-file.node.js";
