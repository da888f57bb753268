// A health authority's risk configuration: the CID ExposureFeeds records, the signed document from IPFS, parsed.
import { DEFAULT_RISK_CONFIG, openDocument, parseRiskConfig, type RiskConfig } from "@mosaic/exposure";
import { getBytes } from "ethers";
import { cidOfBytes, fetchChecked, type KeyFeedComponents, readFeed } from "./feed.js";

/**
 * The feed's risk configuration: the CID ExposureFeeds records, fetched, its signature checked against the feed's
 * current authority (openDocument: WrongSignerError, UnsignedDocumentError, MalformedExposureDocumentError) and parsed
 * (parseRiskConfig). A feed that set none gets DEFAULT_RISK_CONFIG (GAEN's defaults), and so does one whose
 * configuration a transferFeed cleared (the old authority signed it) until the new authority sets its own.
 */
export async function fetchRiskConfig(
  components: { feeds: Pick<KeyFeedComponents["feeds"], "feedOf" | "getAddress" | "interface">; blocks: KeyFeedComponents["blocks"] },
  feedId: bigint | string,
  options: { signal?: AbortSignal } = {},
): Promise<RiskConfig> {
  const onChain = await readFeed(components.feeds, feedId);
  const cidBytes = typeof onChain.riskConfig === "string" ? getBytes(onChain.riskConfig) : onChain.riskConfig;
  if (cidBytes.length === 0) return DEFAULT_RISK_CONFIG;
  const cid = cidOfBytes(cidBytes, `feed ${feedId} risk configuration`);
  const bytes = await fetchChecked(components.blocks, cid, "risk-config", options.signal);
  return parseRiskConfig(openDocument("risk-config", bytes, onChain.authority));
}
