// VALKEY_CLUSTER_NODES: how the variable is read, what a bad value is told, what a child process
// inherits, and the hash-tag rule the cleanup helpers group keys by. The cluster itself:
// tests/valkey-cluster-failover.test.ts, and CI's run of the integration suite against one.
import { describe, expect, it } from 'vitest';
import { childProcessEnv, ConfigError, loadConfig } from '@/lib/config';
import { hashTag } from '@/lib/valkey';

describe('VALKEY_CLUSTER_NODES', () => {
  it('is unset by default: one server at VALKEY_URL', () => {
    expect(loadConfig({ VALKEY_URL: 'redis://cache:6380' }).valkey).toEqual({ url: 'redis://cache:6380' });
    expect(loadConfig({ VALKEY_URL: 'redis://cache:6380', VALKEY_CLUSTER_NODES: '' }).valkey).toEqual({ url: 'redis://cache:6380' });
  });

  it('switches to cluster mode with its seed nodes, keeping VALKEY_URL for credentials', () => {
    const { valkey } = loadConfig({
      VALKEY_URL: 'rediss://app:secret@cluster.example:6379',
      VALKEY_CLUSTER_NODES: 'node-a:7000, node-b:7001,[::1]:7002',
    });
    expect(valkey).toEqual({
      url: 'rediss://app:secret@cluster.example:6379',
      clusterNodes: [
        { host: 'node-a', port: 7000 },
        { host: 'node-b', port: 7001 },
        { host: '::1', port: 7002 },
      ],
    });
  });

  it.each(['node-a', 'node-a:', 'node-a:0', 'node-a:70000', ':7000', 'node-a:7000:1', ','])(
    'refuses %j with an error that names the variable',
    (value) => {
      expect(() => loadConfig({ VALKEY_CLUSTER_NODES: value })).toThrow(ConfigError);
      expect(() => loadConfig({ VALKEY_CLUSTER_NODES: value })).toThrow(/VALKEY_CLUSTER_NODES: .*host:port/);
    },
  );

  it('reaches child processes (the avatar sandboxes), so they join the same cluster', () => {
    const settings = loadConfig({ VALKEY_CLUSTER_NODES: 'node-a:7000,[::1]:7002' });
    const env = childProcessEnv(settings);
    expect(env.VALKEY_CLUSTER_NODES).toBe('node-a:7000,[::1]:7002');
    expect(loadConfig(env).valkey).toEqual(settings.valkey);
    expect(childProcessEnv(loadConfig({})).VALKEY_CLUSTER_NODES).toBeUndefined();
  });
});

describe('hashTag', () => {
  it('follows Valkey: the first {…} with something inside decides the slot', () => {
    expect(hashTag('signup:{email}:wait')).toBe('email');
    expect(hashTag('signup:{email}:tenant-clock:{acme}')).toBe('email');
    expect(hashTag('signup:{breaker:crm}')).toBe('breaker:crm');
    expect(hashTag('signup:email:wait')).toBeUndefined();
    // An empty first pair means no tag at all: the whole key is hashed, later braces included.
    expect(hashTag('a{}{b}')).toBeUndefined();
    expect(hashTag('a{b')).toBeUndefined();
  });
});
