export function VaultPage() {
  return <p>Vault: coming in this change.</p>;
}
