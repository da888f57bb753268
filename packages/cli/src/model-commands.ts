// `mosaic model` (being written).
export async function modelMain(_argv: string[]): Promise<number> {
  console.error("mosaic model: not built yet");
  return 2;
}
