import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidParameterError } from '../../../kernel/index.js';
import { applyChanges } from '../../../plugins/image-store/dockerfile-changes.js';

describe('docker import --change (BuildFromConfig)', () => {
  it('applies CMD, ENTRYPOINT, ENV, LABEL, EXPOSE, USER, VOLUME, WORKDIR, STOPSIGNAL, ONBUILD', () => {
    const cfg = applyChanges({}, [
      'ENV PATH=/usr/bin:/bin HOME=/root',
      'ENV GREETING hello  world',
      'ENV MSG="$GREETING from ${HOME}" EMPTY=${NOPE:-fallback}',
      'LABEL a=1 "b c"="d e" msg=$MSG',
      'EXPOSE 80 443/udp 8000-8002',
      'USER nobody:nogroup',
      'VOLUME ["/data", "/logs"]',
      'VOLUME /cache /tmp/x',
      'WORKDIR /app',
      'WORKDIR sub/../dir',
      'STOPSIGNAL SIGQUIT',
      'ONBUILD RUN echo hi',
      'CMD echo "hi there"',
    ]);
    assert.deepEqual(cfg.Env, ['PATH=/usr/bin:/bin', 'HOME=/root', 'GREETING=hello  world', 'MSG=hello  world from /root', 'EMPTY=fallback']);
    assert.deepEqual(cfg.Labels, { a: '1', 'b c': 'd e', msg: 'hello  world from /root' });
    assert.deepEqual(Object.keys(cfg.ExposedPorts!).sort(), ['443/udp', '80/tcp', '8000/tcp', '8001/tcp', '8002/tcp']);
    assert.equal(cfg.User, 'nobody:nogroup');
    assert.deepEqual(Object.keys(cfg.Volumes!), ['/data', '/logs', '/cache', '/tmp/x']);
    assert.equal(cfg.WorkingDir, '/app/dir');
    assert.equal(cfg.StopSignal, 'SIGQUIT');
    assert.deepEqual(cfg.OnBuild, ['RUN echo hi']);
    assert.deepEqual(cfg.Cmd, ['/bin/sh', '-c', 'echo "hi there"']);
  });

  it('ENTRYPOINT clears a CMD from before, not one set in the same changes', () => {
    assert.deepEqual(applyChanges({ Cmd: ['old'] }, ['ENTRYPOINT ["/bin/app"]']), { Cmd: null, Entrypoint: ['/bin/app'] });
    const both = applyChanges({}, ['CMD ["--help"]', 'ENTRYPOINT ["/bin/app"]']);
    assert.deepEqual(both.Cmd, ['--help']);
    assert.deepEqual(both.Entrypoint, ['/bin/app']);
  });

  it('parses HEALTHCHECK with its flags', () => {
    assert.deepEqual(applyChanges({}, ['HEALTHCHECK --interval=30s --retries=3 CMD ["curl", "-f", "http://x"]']).Healthcheck,
      { Test: ['CMD', 'curl', '-f', 'http://x'], Interval: 30_000_000_000, Retries: 3 });
    assert.deepEqual(applyChanges({}, ['HEALTHCHECK CMD wget -q x']).Healthcheck, { Test: ['CMD-SHELL', 'wget -q x'] });
    assert.deepEqual(applyChanges({}, ['HEALTHCHECK NONE']).Healthcheck, { Test: ['NONE'] });
  });

  it('refuses what dockerd refuses, as a 400', () => {
    const bad: Array<[string, RegExp]> = [
      ['RUN echo hi', /^run is not a valid change command$/],
      ['FROM busybox', /^from is not a valid change command$/],
      ['STOPSIGNAL SIGNOPE', /^Invalid signal: SIGNOPE$/],
      ['EXPOSE 80/foo', /^invalid proto: foo$/],
      ['EXPOSE 99999', /Invalid containerPort: 99999/],
      ['ENV a=1 b', /can't find = in "b"/],
      ['ONBUILD FROM x', /FROM isn't allowed as an ONBUILD trigger/],
      ['HEALTHCHECK --retries=-1 CMD x', /--retries cannot be negative/],
      ['ENV X="unterminated', /matching double-quote/],
    ];
    for (const [change, re] of bad) {
      assert.throws(() => applyChanges({}, [change]), (e: Error) => e instanceof InvalidParameterError && re.test(e.message), change);
    }
  });

  it('leaves the config alone without changes', () => {
    const base = { Env: ['A=1'] };
    assert.equal(applyChanges(base, []), base);
  });
});
