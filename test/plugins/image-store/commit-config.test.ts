import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { commitConfig } from '../../../plugins/image-store/commit-config.js';

describe('commit config (BuildFromConfig + daemon/commit.go merge)', () => {
  const container = { Cmd: ['sh'], Env: ['PATH=/bin', 'A=1'], Labels: { a: '1' }, ExposedPorts: { '80/tcp': {} }, Volumes: { '/v': {} }, WorkingDir: '/w', User: 'u', StopSignal: 'SIGINT', Healthcheck: { Test: ['CMD', 'true'], Interval: 5 } };

  it('without changes the container config is kept (Labels never null)', () => {
    const c = commitConfig(container, [], container);
    assert.deepEqual(JSON.parse(JSON.stringify(c)), { ...container, Labels: { a: '1' } });
    assert.deepEqual(commitConfig({}, [], {}).Labels, {});
  });

  it('changes apply on top; what the request leaves unset comes from the container', () => {
    const c = commitConfig({ Env: ['A=2'] }, ['EXPOSE 443', 'LABEL b=2', 'ENTRYPOINT ["/e"]'], container);
    assert.deepEqual(c.Env, ['A=2', 'PATH=/bin']);
    assert.deepEqual(Object.keys(c.ExposedPorts!).sort(), ['443/tcp', '80/tcp']);
    assert.deepEqual(c.Labels, { b: '2', a: '1' });
    assert.deepEqual(c.Entrypoint, ['/e']);
    assert.equal(c.Cmd, null, 'ENTRYPOINT without CMD clears the command, which is not inherited then');
    assert.equal(c.WorkingDir, '/w');
    assert.equal(c.User, 'u');
    assert.equal(c.StopSignal, 'SIGINT');
    assert.deepEqual(c.Volumes, { '/v': {} });
    assert.deepEqual(c.Healthcheck, container.Healthcheck);
  });

  it('does not change the configs it was given', () => {
    const base = { Env: ['X=1'] };
    commitConfig(base, ['ENV Y=2'], container);
    assert.deepEqual(base, { Env: ['X=1'] });
    assert.deepEqual(container.Env, ['PATH=/bin', 'A=1']);
  });

  it('refuses an instruction commit does not take, as dockerd', () => {
    assert.throws(() => commitConfig({}, ['RUN true'], container), /run is not a valid change command/);
  });
});
