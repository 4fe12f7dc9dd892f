import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, type ContainerRecord } from '../../../kernel/index.js';
import { ContainerStore } from '../../../plugins/container-service/container-store.js';

const ID = 'a'.repeat(64);

function record(status: string): ContainerRecord {
  return {
    Id: ID, Name: '/store-test', State: { Status: status, Running: status === 'running' },
  } as unknown as ContainerRecord;
}

/**
 * The record's writes: the create (a new record, durable with its directory)
 * and every state change after it (synced and renamed over it) leave exactly
 * one config.v2.json that a new store loads with the last state.
 */
describe('container-service ContainerStore records', () => {
  let root: string;
  before(async () => { root = await mkdtemp(join(tmpdir(), 'berth-store-')); });
  after(async () => { await rm(root, { recursive: true, force: true }); });

  it('writes the create and the state changes, and a new store loads the last one', async () => {
    const store = new ContainerStore(root, silentLogger);
    await store.load();
    await store.prepare(ID);
    await store.save(record('created'));
    await store.save(record('running'));
    await store.save(record('exited'), { durable: true });
    await store.save(record('running'), { durable: false });
    await store.save(record('exited'));
    assert.deepEqual(await readdir(join(root, ID)), ['config.v2.json']);
    assert.equal(JSON.parse(await readFile(join(root, ID, 'config.v2.json'), 'utf8')).State.Status, 'exited');
    const again = new ContainerStore(root, silentLogger);
    assert.deepEqual(await again.load(), []);
    assert.equal(again.resolve(ID).State.Status, 'exited');
    assert.equal(again.resolve('store-test').Id, ID);
  });
});
