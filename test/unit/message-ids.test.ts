import {
  caseReference,
  isOurMessageId,
  messageIdsIn,
  newMessageId,
  ourMessageIdCaseKey,
} from '../../server/mail/message-ids';

const DOMAIN = 'tocsin.example.org';

describe('messageIdsIn', () => {
  it('when an id is folded inside its brackets, then the whitespace is dropped', () => {
    expect(messageIdsIn('<abc\r\n def@x.org>')).toEqual(['<abcdef@x.org>']);
  });

  it('when an id has a control character or a stray bracket, then it is dropped', () => {
    expect(messageIdsIn('<a\u0001b@x.org> <ok@x.org>')).toEqual(['<ok@x.org>']);
    expect(messageIdsIn('a<b@x.org')).toEqual([]);
  });

  it('when there is no value, then there are no ids', () => {
    expect(messageIdsIn(undefined)).toEqual([]);
  });
});

describe('Message-IDs', () => {
  it('when a Message-ID is made, then it is <tocsin.<key>.<base36 time>.<16 hex>@domain>', () => {
    const now = new Date('2026-03-01T12:00:00Z');

    const id = newMessageId(DOMAIN, 'INC-2026-007', now);

    const m = /^<tocsin\.inc-2026-007\.([0-9a-z]+)\.([0-9a-f]{16})@tocsin\.example\.org>$/.exec(id);
    expect(m).not.toBeNull();
    expect(parseInt(m![1]!, 36)).toBe(now.getTime());
  });

  it('when two are made at the same instant, then they differ', () => {
    const now = new Date();

    expect(newMessageId(DOMAIN, 'INC-2026-007', now)).not.toBe(newMessageId(DOMAIN, 'INC-2026-007', now));
  });

  it('when the domain is in capitals, then the id has it in lower case', () => {
    expect(newMessageId('Tocsin.Example.ORG', 'INC-2026-007')).toMatch(/@tocsin\.example\.org>$/);
  });

  it.each(['tocsin.example.org>\r\nBcc: x@y.z', 'has space.org', '', 'a@b.org', '-lead.org'])(
    'when the domain is "%s", then it throws rather than write a broken id',
    (domain) => {
      expect(() => newMessageId(domain, 'INC-2026-007')).toThrow(/not a mail domain/);
    },
  );

  it.each(['INC-2026-007>', 'INC 2026 007', 'hello', ''])(
    'when the case key is "%s", then it throws',
    (key) => {
      expect(() => newMessageId(DOMAIN, key)).toThrow(/not a case key/);
      expect(() => caseReference(DOMAIN, key)).toThrow(/not a case key/);
    },
  );

  it('when the case reference is made, then it is <key.case@domain> in lower case', () => {
    expect(caseReference(DOMAIN, 'INC-2026-007')).toBe('<inc-2026-007.case@tocsin.example.org>');
  });

  it('when an id is one we made, in either form, with or without brackets, then it is ours', () => {
    const id = newMessageId(DOMAIN, 'SUP-2026-1234');

    expect(isOurMessageId(id, DOMAIN)).toBe(true);
    expect(isOurMessageId(id.slice(1, -1), DOMAIN)).toBe(true);
    expect(isOurMessageId(` ${id.toUpperCase()} `, DOMAIN)).toBe(true);
    expect(isOurMessageId(caseReference(DOMAIN, 'INC-2026-007'), DOMAIN)).toBe(true);
    expect(ourMessageIdCaseKey(id, DOMAIN)).toBe('SUP-2026-1234');
    expect(ourMessageIdCaseKey('<inc-2026-007.case@tocsin.example.org>', DOMAIN)).toBe('INC-2026-007');
  });

  it.each([
    ['another domain', '<inc-2026-007.case@example.org>'],
    ['our domain as a prefix of another', '<inc-2026-007.case@tocsin.example.org.evil.test>'],
    ['our domain as a suffix of another', '<inc-2026-007.case@eviltocsin.example.org>'],
    ['a dot in the domain read as any character', '<inc-2026-007.case@tocsinXexample.org>'],
    ['a stranger’s id', '<CAJYcEwW7ghrwjbwmwK3GKRG98qSVTKhG@mail.gmail.com>'],
    ['our form with a short random part', '<tocsin.inc-2026-007.m7x.abc@tocsin.example.org>'],
    ['no key', '<tocsin.m7x.0123456789abcdef@tocsin.example.org>'],
  ])('when the id has %s, then it is not ours', (_, id) => {
    expect(isOurMessageId(id, DOMAIN)).toBe(false);
  });
});
