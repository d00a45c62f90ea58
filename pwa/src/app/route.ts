import { useEffect, useState } from 'preact/hooks';

/** Hash routes: #/, #/case/KEY, #/register?…, #/settings, #/rota, #/sign-in. */
export type Route =
  | { name: 'inbox' }
  | { name: 'case'; key: string }
  | { name: 'register'; query: URLSearchParams }
  | { name: 'settings' }
  | { name: 'rota' }
  | { name: 'sign-in' };

export function parseRoute(hash: string): Route {
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

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
