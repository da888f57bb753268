import { READY_JOBS, abilityCatalog, validateSpec, encodeSpec } from "@mosaic/mapreduce";
import { BUILTIN_ABILITIES } from "@mosaic/vault";
import { publishSubmissionWith } from "@mosaic/avatar";
import { createBrowserIpfsNode, readReducers } from "@mosaic/protocol";
export function ResearchPage() {
  const s = validateSpec(READY_JOBS["km-per-day"]!(), { abilities: abilityCatalog(BUILTIN_ABILITIES) });
  void encodeSpec;
  void publishSubmissionWith;
  void createBrowserIpfsNode;
  void readReducers;
  return <p>Research: {s.title}</p>;
}
