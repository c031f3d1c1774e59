import { describe, expect, it } from 'vitest';
import { clientAddress, clientProtocol, proxyEntryProblem, trustedProxies } from '../server/lib/client-address.ts';

const none = trustedProxies([]);
const proxies = trustedProxies(['10.0.0.0/8', '192.168.1.5', 'fd00::/8']);
const req = (remoteAddress: string, forwardedFor?: string | string[], forwardedProto?: string) => ({ remoteAddress, encrypted: false, forwardedFor, forwardedProto });

describe('X-Forwarded-For, read from the right through trusted proxies only', () => {
  it('without trusted proxies the socket peer is the client, whatever the headers say', () => {
    expect(clientAddress(req('203.0.113.9', '1.2.3.4'), none)).toBe('203.0.113.9');
    expect(clientProtocol(req('203.0.113.9', undefined, 'https'), none)).toBe('http');
  });

  it('a peer that is not a trusted proxy is the client, even with proxies configured', () => {
    expect(clientAddress(req('203.0.113.9', '1.2.3.4'), proxies)).toBe('203.0.113.9');
    expect(clientProtocol(req('203.0.113.9', undefined, 'https'), proxies)).toBe('http');
  });

  it('skips trusted hops from the right; the first untrusted one is the client; spoofed entries to its left are ignored', () => {
    expect(clientAddress(req('10.1.1.1', '198.51.100.7'), proxies)).toBe('198.51.100.7');
    expect(clientAddress(req('10.1.1.1', '6.6.6.6, 198.51.100.7, 192.168.1.5'), proxies)).toBe('198.51.100.7');
    expect(clientAddress(req('::ffff:10.1.1.1', ['6.6.6.6', '198.51.100.7']), proxies)).toBe('198.51.100.7');
    expect(clientAddress(req('fd00::1', '2001:db8::5'), proxies)).toBe('2001:db8::5');
    expect(clientAddress(req('10.1.1.1', '[2001:db8::5]:4711'), proxies)).toBe('2001:db8::5');
    expect(clientAddress(req('10.1.1.1', '198.51.100.7:4711'), proxies)).toBe('198.51.100.7');
  });

  it('when every hop is a trusted proxy, the leftmost is the client; garbage stops at the last trusted hop', () => {
    expect(clientAddress(req('10.1.1.1', '10.2.2.2'), proxies)).toBe('10.2.2.2');
    expect(clientAddress(req('10.1.1.1'), proxies)).toBe('10.1.1.1');
    expect(clientAddress(req('10.1.1.1', 'evil, 10.2.2.2'), proxies)).toBe('10.2.2.2');
    expect(clientAddress(req('10.1.1.1', 'not-an-ip'), proxies)).toBe('10.1.1.1');
  });

  it('X-Forwarded-Proto counts only from a trusted peer, rightmost value', () => {
    expect(clientProtocol(req('10.1.1.1', undefined, 'https'), proxies)).toBe('https');
    expect(clientProtocol(req('10.1.1.1', undefined, 'https, http'), proxies)).toBe('http');
    expect(clientProtocol(req('10.1.1.1', undefined, 'gopher'), proxies)).toBe('http');
    expect(clientProtocol({ ...req('203.0.113.9'), encrypted: true }, proxies)).toBe('https');
  });

  it('validates the configured entries', () => {
    expect(proxyEntryProblem('10.0.0.1')).toBeNull();
    expect(proxyEntryProblem('10.0.0.0/8')).toBeNull();
    expect(proxyEntryProblem('::1')).toBeNull();
    expect(proxyEntryProblem('fd00::/8')).toBeNull();
    expect(proxyEntryProblem('10.0.0.0/33')).toMatch(/prefix length must be 0-32/);
    expect(proxyEntryProblem('proxy.example.com')).toMatch(/not an IP address or CIDR block/);
    expect(proxyEntryProblem('10.0.0.0/8/1')).toMatch(/not an IP address/);
    expect(proxyEntryProblem('true')).toMatch(/not an IP address/);
  });
});
