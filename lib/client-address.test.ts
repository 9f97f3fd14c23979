import { afterEach, describe, expect, it } from 'vitest';
import { addressFromHops, addressGroup, clientAddress, installClientAddressStamp, UNKNOWN_CLIENT, UNSTAMPED_CLIENT } from '@/lib/client-address';
import { startStampedServer, type StampedServer } from '@/tests/helpers/stamped-server';

describe('addressGroup', () => {
  it('keeps an IPv4 address, also when it comes IPv4-mapped', () => {
    expect(addressGroup('198.51.100.7')).toBe('198.51.100.7');
    expect(addressGroup('::ffff:198.51.100.7')).toBe('198.51.100.7');
    expect(addressGroup('::FFFF:c633:6407')).toBe('198.51.100.7');
    expect(addressGroup('198.51.100.7:5123')).toBe('198.51.100.7');
  });

  it('counts an IPv6 address by its /64, however it is written', () => {
    const group = '2001:db8:1:2::/64';
    for (const address of ['2001:db8:1:2::1', '2001:DB8:1:2:ffff:ffff:ffff:ffff', '2001:0db8:0001:0002:0:0:0:9', '[2001:db8:1:2::3]:443', '2001:db8:1:2::1%eth0']) {
      expect(addressGroup(address), address).toBe(group);
    }
    expect(addressGroup('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(addressGroup('2001:db8::')).toBe('2001:db8:0:0::/64');
    expect(addressGroup('::1')).toBe('0:0:0:0::/64');
    expect(addressGroup('64:ff9b::198.51.100.7')).toBe('64:ff9b:0:0::/64');
  });

  it('leaves what is not an address as it is', () => {
    expect(addressGroup(' unknown ')).toBe('unknown');
    expect(addressGroup('198.51.100.256')).toBe('198.51.100.256');
  });
});

describe('addressFromHops', () => {
  const forwarded = '203.0.113.1, 198.51.100.2, 192.0.2.3';

  it('ignores X-Forwarded-For without trusted proxies: the socket is the client', () => {
    expect(addressFromHops(forwarded, '192.0.2.99', 0)).toBe('192.0.2.99');
    expect(addressFromHops(undefined, '::ffff:192.0.2.99', 0)).toBe('192.0.2.99');
  });

  it('takes the entry the outermost of the trusted proxies wrote', () => {
    expect(addressFromHops(forwarded, '10.0.0.5', 1)).toBe('192.0.2.3');
    expect(addressFromHops(forwarded, '10.0.0.5', 2)).toBe('198.51.100.2');
    expect(addressFromHops(['203.0.113.1', '198.51.100.2'], '10.0.0.5', 1)).toBe('198.51.100.2');
  });

  it('falls back to the socket when the request went round the proxies or the entry is no address', () => {
    expect(addressFromHops(undefined, '10.0.0.5', 1)).toBe('10.0.0.5');
    expect(addressFromHops('198.51.100.2', '10.0.0.5', 2)).toBe('10.0.0.5');
    expect(addressFromHops('198.51.100.2, not-an-address', '10.0.0.5', 1)).toBe('10.0.0.5');
    expect(addressFromHops('198.51.100.2', undefined, 0)).toBe(UNKNOWN_CLIENT);
  });
});

describe('the client-address stamp on a real HTTP server', () => {
  let server: StampedServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** What clientAddress() saw for each request. */
  async function seenFor(hops: number, requests: Array<Record<string, string>>): Promise<string[]> {
    const seen: string[] = [];
    server = await startStampedServer(hops, (request) => {
      seen.push(clientAddress(request.headers));
      return new Response(null, { status: 204 });
    });
    for (const headers of requests) expect((await fetch(server.url, { headers })).status).toBe(204);
    return seen;
  }

  it('gives a client that rotates X-Forwarded-For, or sends a stamp of its own, its socket address every time', async () => {
    const requests: Array<Record<string, string>> = [
      ...Array.from({ length: 5 }, (_, index) => ({ 'x-forwarded-for': `198.51.100.${index + 1}` })),
      { 'x-forwarded-for': '203.0.113.9, 198.51.100.77' },
      { 'x-forwarded-for': '198.51.100.8', 'x-client-address-stamp': 'guessed' },
      {},
    ];
    expect(await seenFor(0, requests)).toEqual(requests.map(() => '127.0.0.1'));
  });

  it('with one trusted proxy, takes the address it appended, and the socket when there is none', async () => {
    const seen = await seenFor(1, [{ 'x-forwarded-for': '203.0.113.9, 198.51.100.77' }, { 'x-forwarded-for': '2001:db8:1:2::5' }, {}]);
    expect(seen).toEqual(['198.51.100.77', '2001:db8:1:2::/64', '127.0.0.1']);
  });

  it('counts requests that arrived before it was installed as one client, and trusts the header again once removed', () => {
    const headers = new Headers({ 'x-forwarded-for': '198.51.100.1' });
    const uninstall = installClientAddressStamp(0);
    try {
      expect(clientAddress(headers)).toBe(UNSTAMPED_CLIENT);
    } finally {
      uninstall();
    }
    expect(clientAddress(headers)).toBe('198.51.100.1');
    expect(clientAddress(new Headers())).toBe(UNKNOWN_CLIENT);
  });
});
