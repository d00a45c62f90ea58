import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';

/** Real headless Chromium from Debian's package, with `localhost` (the desk's PUBLIC_URL) on 127.0.0.1. */
export function launchChromium(extraHostRules: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      `--host-resolver-rules=${['MAP localhost 127.0.0.1', ...extraHostRules].join(', ')}`,
    ],
  });
}

/**
 * The DevTools virtual authenticator: a platform authenticator that keeps resident keys and
 * verifies the user, as a phone's would. Returns the CDP session and the authenticator's id.
 */
export async function addVirtualAuthenticator(
  context: BrowserContext,
  page: Page,
): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await context.newCDPSession(page);
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
  return { cdp, authenticatorId };
}
