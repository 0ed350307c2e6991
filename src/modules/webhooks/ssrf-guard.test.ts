import { describe, expect, it } from 'vitest';
import { checkUrlShape, ForbiddenTarget, forbiddenAddress, resolveTarget } from './ssrf-guard.js';

const strict = { allowPrivate: false, allowedPorts: [80, 443] };
const open = { allowPrivate: true, allowedPorts: [80, 443] };

describe('forbiddenAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.0.9',
    '0.0.0.0',
    '10.1.2.3',
    '172.31.255.255',
    '192.168.0.1',
    '100.64.0.1',
    '169.254.169.254',
    '224.0.0.251',
    '255.255.255.255',
    '192.0.2.10',
    '::1',
    '::',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    'fc00::1',
    'fd00:ec2::254',
    'fe80::1',
    'ff02::1',
    '2002:7f00:1::1',
    '64:ff9b::7f00:1',
    '2001::1',
    '2001:db8::1',
  ])('when the address is %s, then it is refused', (address) => {
    expect(forbiddenAddress(address)).not.toBeNull();
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:93.184.216.34'])(
    'when the address is %s, then it is allowed',
    (address) => {
      expect(forbiddenAddress(address)).toBeNull();
    },
  );
});

describe('checkUrlShape', () => {
  it('when an IPv4 literal is written in another notation, then it is judged as dotted decimal', () => {
    for (const host of ['2130706433', '0177.0.0.1', '0x7f.1', '127.1', '0x7f000001']) {
      expect(() => checkUrlShape(`http://${host}/`, strict)).toThrow(ForbiddenTarget);
      expect(checkUrlShape(`http://${host}/`, open).literal).toBe('127.0.0.1');
    }
  });

  it('when private addresses are allowed, then ports are not checked either, but scheme and credentials are', () => {
    expect(checkUrlShape('http://127.0.0.1:8080/x', open).port).toBe(8080);
    expect(() => checkUrlShape('ftp://127.0.0.1/', open)).toThrow(/http or https/);
    expect(() => checkUrlShape('http://a:b@127.0.0.1/', open)).toThrow(/credentials/);
  });
});

describe('resolveTarget', () => {
  it('when one of the addresses is private, then the name is refused; else the first is used', async () => {
    const checked = checkUrlShape('https://hooks.example.com/', strict);
    await expect(
      resolveTarget(checked, strict, async () => ['93.184.216.34', '10.0.0.1']),
    ).rejects.toThrow(/10\.0\.0\.1/);
    await expect(
      resolveTarget(checked, strict, async () => ['93.184.216.34', '8.8.8.8']),
    ).resolves.toBe('93.184.216.34');
    await expect(resolveTarget(checked, strict, async () => [])).rejects.toThrow(/no address/);
  });
});
