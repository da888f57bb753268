// `mosaic alerts` (being written).
export async function alertsMain(_argv: string[]): Promise<number> {
  console.error("mosaic alerts: not built yet");
  return 2;
}
