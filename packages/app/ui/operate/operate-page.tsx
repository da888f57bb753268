export function OperatePage() {
  return <p>Operate: coming in this change.</p>;
}
