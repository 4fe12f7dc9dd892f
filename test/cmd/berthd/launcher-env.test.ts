import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dropLauncherEnv } from '../../../cmd/berthd/launcher-env.js';

describe('cmd/berthd/launcher-env', () => {
  it('drops the GLIBC_TUNABLES that bin/berthd set, with its marker', () => {
    const env: NodeJS.ProcessEnv = { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1', BERTH_LAUNCH_GLIBC_TUNABLES: '1', PATH: '/bin' };
    dropLauncherEnv(env);
    assert.deepEqual(env, { PATH: '/bin' });
  });

  it('keeps a GLIBC_TUNABLES of the user\'s (no marker)', () => {
    const env: NodeJS.ProcessEnv = { GLIBC_TUNABLES: 'glibc.malloc.check=3', PATH: '/bin' };
    dropLauncherEnv(env);
    assert.deepEqual(env, { GLIBC_TUNABLES: 'glibc.malloc.check=3', PATH: '/bin' });
  });
});
