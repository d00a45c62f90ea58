import {
  browserSupportsWebAuthn,
  startAuthentication,
  startRegistration,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/browser';
import { get, loadMe, request, setCsrf } from './api';
import type { PasskeyInfo } from './types';

/** The browser half of the passkey ceremonies; the desk checks everything else. */

export const passkeysSupported = () => browserSupportsWebAuthn();

/** Signs in with a passkey the authenticator offers; the session cookie is set by the desk. */
export async function signInWithPasskey(): Promise<void> {
  const { body: start } = await request<{
    challengeId: string;
    options: PublicKeyCredentialRequestOptionsJSON;
  }>('POST', '/auth/passkey/options');
  const response = await startAuthentication({ optionsJSON: start.options });
  const { body } = await request<{ csrfToken: string }>('POST', '/auth/passkey', {
    challengeId: start.challengeId,
    response,
  });
  setCsrf(body.csrfToken);
  await loadMe();
}

/** Registers a passkey for the signed-in member, under the name they chose. */
export async function addPasskey(name: string): Promise<PasskeyInfo> {
  const { body: start } = await request<{
    challengeId: string;
    options: PublicKeyCredentialCreationOptionsJSON;
  }>('POST', '/api/me/passkeys/options');
  const response = await startRegistration({ optionsJSON: start.options });
  const { body } = await request<PasskeyInfo>('POST', '/api/me/passkeys', {
    challengeId: start.challengeId,
    response,
    name: name.trim() || undefined,
  });
  return body;
}

export const listPasskeys = async () =>
  (await get<{ passkeys: PasskeyInfo[] }>('/api/me/passkeys')).body.passkeys;

export const removePasskey = (id: string) => request('DELETE', `/api/me/passkeys/${encodeURIComponent(id)}`);

/** A sensible default name for a new passkey: the kind of device it is on. */
export function deviceName(): string {
  const ua = navigator.userAgent;
  if (/iPhone/.test(ua)) return 'iPhone';
  if (/iPad/.test(ua)) return 'iPad';
  if (/Android/.test(ua)) return 'Android phone';
  if (/Mac OS X/.test(ua)) return 'Mac';
  if (/Windows/.test(ua)) return 'Windows computer';
  if (/Linux/.test(ua)) return 'Linux computer';
  return 'This device';
}
