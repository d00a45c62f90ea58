import { useEffect, useState } from 'preact/hooks';

/** The screens the hash names: #/, #/case/KEY, #/register?…, #/settings, #/rota, #/sign-in. */
export type Screen =
  | { name: 'inbox' }
  | { name: 'case'; key: string }
  | { name: 'register'; query: URLSearchParams }
  | { name: 'settings' }
  | { name: 'rota' }
  | { name: 'sign-in' };

export function parseScreen(hash: string): Screen {
  const [path = '', search = ''] = hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean);
  switch (parts[0]) {
    case 'case':
      return parts[1] ? { name: 'case', key: decodeURIComponent(parts[1]) } : { name: 'inbox' };
    case 'register':
      return { name: 'register', query: new URLSearchParams(search) };
    case 'settings':
      return { name: 'settings' };
    case 'rota':
      return { name: 'rota' };
    case 'sign-in':
      return { name: 'sign-in' };
    default:
      return { name: 'inbox' };
  }
}

export const caseHref = (key: string) => `#/case/${encodeURIComponent(key)}`;

export function go(hash: string): void {
  if (location.hash !== hash) location.hash = hash;
}

/** The screen the hash names, again whenever the hash changes. */
export function useScreen(): Screen {
  const [screen, setScreen] = useState(() => parseScreen(location.hash));
  useEffect(() => {
    const onChange = () => setScreen(parseScreen(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return screen;
}
