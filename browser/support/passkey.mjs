// A passkey on the test's "device": Chromium's virtual authenticator, attached through the
// DevTools protocol to a story's tab. It behaves like a phone's or laptop's platform
// authenticator that keeps discoverable credentials and verifies its user (fingerprint, face,
// PIN) every time, answering at once without anyone touching it.
//
// Passkeys are bound to a domain, and browsers refuse an IP address as one: the server must be
// reached as http://localhost:<port> (startServer's url), its public address.

/** Adds a virtual authenticator to the story's tab; answers helpers to look inside it. */
export async function addVirtualAuthenticator(s) {
  const cdp = await s.context.newCDPSession(s.page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    /** The credentials the authenticator holds, e.g. to see that one was made for localhost. */
    async credentials() {
      return (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
    },
  };
}
