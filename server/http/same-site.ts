import type { Request } from 'express';

/**
 * Whether a browser request comes from our own pages: its Origin, when sent, is ours (`null`, sent
 * from sandboxed frames and privacy-stripped posts, is not), and Sec-Fetch-Site, when sent, does not
 * say another site. Scripts that send neither are not browsers, and have no cookies to abuse.
 */
export function fromOwnSite(req: Request, ownOrigin: string): boolean {
  const origin = req.get('origin');
  if (origin !== undefined && origin !== ownOrigin) return false;
  const site = req.get('sec-fetch-site');
  return site === undefined || site === 'same-origin' || site === 'none';
}
