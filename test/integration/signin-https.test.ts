import { issueLoginLink } from '../../server/auth/magic-link';
import { addUser } from '../../server/auth/users';
import { startDesk, type Desk } from '../support/desk';
import { uniqueName } from '../support/env';

/** The session cookie of a desk whose PUBLIC_URL is https. */

describe('when the desk is served over https', () => {
  let secure: Desk;
  beforeAll(async () => {
    secure = await startDesk({ publicUrl: () => 'https://desk.example.org' });
  });
  afterAll(() => secure.stop());

  it('then the session cookie is __Host- prefixed and Secure', async () => {
    const email = `${uniqueName('https')}@example.org`;
    await addUser(email, 'Sam', 'member');
    const link = await issueLoginLink(email, secure.publicUrl);
    expect(link!.url.startsWith('https://desk.example.org/auth/magic?token=')).toBe(true);
    const res = await fetch(`${secure.url}/auth/magic`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: new URL(link!.url).searchParams.get('token') }),
    });
    expect(res.status).toBe(200);
    const setCookie = res.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^__Host-tocsin=[\w-]+;/);
    expect(setCookie).toMatch(/Secure/);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).not.toMatch(/Domain=/i);
  });
});
