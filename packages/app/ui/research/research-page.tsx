export function ResearchPage() {
  return <p>Research: coming in this change.</p>;
}
