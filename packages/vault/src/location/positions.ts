// Positions in location files: strict decimal numbers and latitude/longitude range checks.

const DECIMAL = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** A decimal number from text, strictly (Number() alone accepts "", "0x10" and "Infinity"), or NaN. */
export function decimal(s: string): number {
  return DECIMAL.test(s) ? Number(s) : Number.NaN;
}

export function badLatLon(lat: number, lon: number): boolean {
  // Written as negations so NaN counts as bad.
  return !(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180);
}

export function positionProblem(lat: number, lon: number): string {
  return !(lat >= -90 && lat <= 90) ? `latitude ${lat} is outside [-90, 90]` : `longitude ${lon} is outside [-180, 180]`;
}
