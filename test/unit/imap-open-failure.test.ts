import { openFailure } from '../../server/mail/imap';

const account = { host: 'outlook.office365.com', port: 993, secure: true, user: 'desk@example.org' };

describe('when the mailbox server refuses the login', () => {
  it('then the sentence gives the response code once and the server’s words without the tag and status', () => {
    // What imapflow puts on the error for a tagged NO (the whole response line, re-encoded).
    const err = Object.assign(new Error('Command failed'), {
      authenticationFailed: true,
      serverResponseCode: 'AUTHENTICATIONFAILED',
      response: '2 NO [AUTHENTICATIONFAILED] Authentication failed.',
    });
    expect(openFailure(err, account)).toBe(
      'The mailbox server outlook.office365.com:993 refused the login for desk@example.org (AUTHENTICATIONFAILED): Authentication failed.',
    );
  });

  it('then words without a tag are kept as they are', () => {
    const err = { authenticationFailed: true, response: 'LOGIN failed' };
    expect(openFailure(err, account)).toBe(
      'The mailbox server outlook.office365.com:993 refused the login for desk@example.org: LOGIN failed.',
    );
  });
});
