// The object model of an OASIS CAP 1.2 message, as parseCap returns it and as a feed entry carries it (its canonical
// form is this object encoded as dag-cbor). Every value is the element's text exactly as CAP defines it (strings:
// times, polygons and circles included), so rendering it back to XML loses nothing. An optional element that is
// absent is an absent key (never `undefined`); a repeatable element is always an array, empty when absent.

/** `<alert><status>` */
export type CapStatus = "Actual" | "Exercise" | "System" | "Test" | "Draft";
/** `<alert><msgType>` */
export type CapMsgType = "Alert" | "Update" | "Cancel" | "Ack" | "Error";
/** `<alert><scope>` */
export type CapScope = "Public" | "Restricted" | "Private";
/** `<info><category>` */
export type CapCategory =
  | "Geo"
  | "Met"
  | "Safety"
  | "Security"
  | "Rescue"
  | "Fire"
  | "Health"
  | "Env"
  | "Transport"
  | "Infra"
  | "CBRNE"
  | "Other";
/** `<info><responseType>` */
export type CapResponseType = "Shelter" | "Evacuate" | "Prepare" | "Execute" | "Avoid" | "Monitor" | "Assess" | "AllClear" | "None";
/** `<info><urgency>` */
export type CapUrgency = "Immediate" | "Expected" | "Future" | "Past" | "Unknown";
/** `<info><severity>` */
export type CapSeverity = "Extreme" | "Severe" | "Moderate" | "Minor" | "Unknown";
/** `<info><certainty>` */
export type CapCertainty = "Observed" | "Likely" | "Possible" | "Unlikely" | "Unknown";

/** `<eventCode>`, `<parameter>`, `<geocode>`: a name and a value. */
export interface CapValuePair {
  valueName: string;
  value: string;
}

/** `<resource>` */
export interface CapResource {
  resourceDesc: string;
  mimeType: string;
  /** Decimal bytes, as written. */
  size?: string;
  uri?: string;
  /** Base64, as written. */
  derefUri?: string;
  /** SHA-1 hex, as written. */
  digest?: string;
}

/** `<area>` */
export interface CapArea {
  areaDesc: string;
  /** Each "lat,lon lat,lon …" (WGS 84), at least four pairs, the first equal to the last. */
  polygon: string[];
  /** Each "lat,lon radius" with the radius in kilometres. */
  circle: string[];
  geocode: CapValuePair[];
  /** Feet above mean sea level, as written. */
  altitude?: string;
  ceiling?: string;
}

/** `<info>` */
export interface CapInfo {
  /** RFC 3066 tag; CAP's default is "en-US". */
  language?: string;
  category: CapCategory[];
  event: string;
  responseType: CapResponseType[];
  urgency: CapUrgency;
  severity: CapSeverity;
  certainty: CapCertainty;
  audience?: string;
  eventCode: CapValuePair[];
  /** CAP date-times ("2026-12-05T10:00:00+01:00"), as written. */
  effective?: string;
  onset?: string;
  expires?: string;
  senderName?: string;
  headline?: string;
  description?: string;
  instruction?: string;
  web?: string;
  contact?: string;
  parameter: CapValuePair[];
  resource: CapResource[];
  area: CapArea[];
}

/** `<alert>`: one CAP 1.2 message. */
export interface CapAlert {
  identifier: string;
  sender: string;
  /** CAP date-time, as written. */
  sent: string;
  status: CapStatus;
  msgType: CapMsgType;
  source?: string;
  scope: CapScope;
  restriction?: string;
  addresses?: string;
  code: string[];
  note?: string;
  /** Space-separated "sender,identifier,sent" triples of the messages this one updates or cancels. */
  references?: string;
  incidents?: string;
  info: CapInfo[];
}
