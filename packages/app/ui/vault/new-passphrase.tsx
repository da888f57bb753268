// A new passphrase, typed twice, as `mosaic vault init` asks for one: creating, pairing and recovering a vault all ask
// for it the same way.
import { useState } from "react";
import { Field } from "../components.tsx";
import { checkNewPassphrase } from "./store.ts";

export function useNewPassphrase() {
  const [passphrase, setPassphrase] = useState("");
  const [again, setAgain] = useState("");
  return {
    /** The passphrase, checked (PassphraseError): at least 8 characters, the same both times. */
    checked(): string {
      checkNewPassphrase(passphrase, again);
      return passphrase;
    },
    /** The two fields: `label`, then `label` again. */
    fields: (label: string, hint: string) => (
      <>
        <Field label={label} hint={hint}>
          <input type="password" autoComplete="new-password" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} />
        </Field>
        <Field label={`${label} again`}>
          <input type="password" autoComplete="new-password" value={again} onChange={(e) => setAgain(e.target.value)} />
        </Field>
      </>
    ),
  };
}
