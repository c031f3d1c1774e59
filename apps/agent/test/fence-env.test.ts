import { describe, expect, it } from 'vitest';
import { etcdctlEnv } from '../src/fence/index.ts';

describe("keel-fence's etcdctl environment", () => {
  it('names every endpoint with its scheme, the TLS files and the user, and drops inherited ETCDCTL_*', () => {
    const env = etcdctlEnv(
      { hosts: ['10.0.0.1:2379', '[::1]:2379'], protocol: 'https', cacert: '/ca.pem', cert: '/c.pem', key: '/k.pem', username: 'keel', password: 'p:w' },
      { PATH: '/usr/bin', ETCDCTL_INSECURE_SKIP_TLS_VERIFY: 'true', ETCDCTL_ENDPOINTS: 'http://elsewhere:2379' },
    );
    expect(env).toEqual({
      PATH: '/usr/bin',
      ETCDCTL_API: '3',
      ETCDCTL_ENDPOINTS: 'https://10.0.0.1:2379,https://[::1]:2379',
      ETCDCTL_CACERT: '/ca.pem',
      ETCDCTL_CERT: '/c.pem',
      ETCDCTL_KEY: '/k.pem',
      ETCDCTL_USER: 'keel:p:w',
    });
  });

  it('uses the certificate file as the key when no key is given, and sets nothing for plain http', () => {
    expect(etcdctlEnv({ hosts: ['e:2379'], protocol: 'https', cert: '/both.pem' }, {})).toMatchObject({ ETCDCTL_CERT: '/both.pem', ETCDCTL_KEY: '/both.pem' });
    expect(etcdctlEnv({ hosts: ['e:2379'], protocol: 'http' }, {})).toEqual({ ETCDCTL_API: '3', ETCDCTL_ENDPOINTS: 'http://e:2379' });
  });
});
