// The location history parsers (GPX, GeoJSON, Google Takeout Records.json and Timeline.json) behind one entry point.
export { detectLocationFormat } from "./detect.js";
export { LocationFileTooLargeError, LocationFormatError } from "./errors.js";
export {
  LOCATION_FORMAT_LABELS,
  LOCATION_FORMATS,
  type LocationFormat,
  type LocationPoint,
  MAX_LOCATION_FILE_BYTES,
  type ParsedLocations,
  type ParseLocationsOptions,
} from "./formats.js";
export { parseLocations } from "./parse.js";
