import { describe, expect, it } from 'vitest';
import { escapeHtml, nameForEmail } from '@/workers/jobs/email/recorded-email';

describe('nameForEmail', () => {
  it('defangs what a mail client would turn into a link', () => {
    expect(nameForEmail('Hi http://evil.example/login')).toBe('Hi http[:]//evil[.]example/login');
    expect(nameForEmail('www.evil.example')).toBe('www[.]evil[.]example');
    expect(nameForEmail('Pay at evil.example now')).toBe('Pay at evil[.]example now');
    expect(nameForEmail('mail me: a@evil.example')).toBe('mail me: a@evil[.]example');
  });

  it('keeps a name that links nothing as it is', () => {
    expect(nameForEmail('Ada Lovelace')).toBe('Ada Lovelace');
    expect(nameForEmail('J. R. R. Tolkien')).toBe('J. R. R. Tolkien');
    expect(nameForEmail('Zoë Ødegård-Núñez')).toBe('Zoë Ødegård-Núñez');
  });

  it('keeps a name on one line, whatever characters the row holds', () => {
    expect(nameForEmail('Ada\r\nBcc: victim@example.com')).toBe('Ada Bcc: victim@example[.]com');
    expect(nameForEmail('Ada\u2028Lovelace\u200b')).toBe('Ada Lovelace');
  });
});

describe('escapeHtml', () => {
  it('escapes every character that could open markup or an attribute', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe('&#60;a href=&#34;x&#34; onclick=&#39;y&#39;&#62;&#38;&#60;/a&#62;');
  });
});
