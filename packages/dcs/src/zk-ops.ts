import type { DcsKeys } from '@keel/protocol';
import { parseCluster, type RawKv } from './parse.ts';
import type { ClusterSnapshot } from './types.ts';
import { CreateMode, Exception, errorCode, idString, zxidNumber, type ZkSession } from './zk-session.ts';

/* Small ZooKeeper write and read patterns the Dcs methods are built from. */

/** Creates `path` (ephemeral on `s` when asked), making its parents first when they are missing. */
export async function createNode(s: ZkSession, path: string, value: string, ephemeral: boolean): Promise<number> {
  const mode = ephemeral ? CreateMode.EPHEMERAL : CreateMode.PERSISTENT;
  try {
    return (await s.create(path, value, mode)).zxid;
  } catch (err) {
    if (errorCode(err) !== Exception.NO_NODE) throw err;
    await s.mkdirp(path.slice(0, path.lastIndexOf('/'))).catch((e: unknown) => {
      if (errorCode(e) !== Exception.NODE_EXISTS) throw e;
    });
    return (await s.create(path, value, mode)).zxid;
  }
}

/** Deletes `path` (at `version` when given); false when it was absent or had another version. */
export async function removeIfExists(s: ZkSession, path: string, version = -1): Promise<boolean> {
  try {
    await s.remove(path, version);
    return true;
  } catch (err) {
    const code = errorCode(err);
    if (code === Exception.NO_NODE || code === Exception.BAD_VERSION) return false;
    throw err;
  }
}

/**
 * Writes a persistent znode. expected undefined: unconditional; 0: only if absent; N: only if its
 * mzxid is still N (then the write carries the znode's version, so a write in between fails it).
 * Answers the new mzxid, or null on a conflict.
 */
export async function casWrite(s: ZkSession, path: string, data: string, expected?: number): Promise<number | null> {
  if (expected === 0) {
    try {
      return await createNode(s, path, data, false);
    } catch (err) {
      if (errorCode(err) === Exception.NODE_EXISTS) return null;
      throw err;
    }
  }
  if (expected !== undefined) {
    const stat = (await s.exists(path)).value;
    if (!stat || zxidNumber(stat.mzxid) !== expected) return null;
    try {
      return zxidNumber((await s.setData(path, data, stat.version)).value.mzxid);
    } catch (err) {
      const code = errorCode(err);
      if (code === Exception.BAD_VERSION || code === Exception.NO_NODE) return null;
      throw err;
    }
  }
  // Unconditional: update, or create when absent (a concurrent create or delete: try again).
  for (let i = 0; ; i++) {
    try {
      return zxidNumber((await s.setData(path, data)).value.mzxid);
    } catch (err) {
      if (errorCode(err) !== Exception.NO_NODE) throw err;
    }
    try {
      return await createNode(s, path, data, false);
    } catch (err) {
      if (errorCode(err) !== Exception.NODE_EXISTS || i >= 4) throw err;
    }
  }
}

export async function readNode(s: ZkSession, path: string): Promise<{ data: string; version: number; mzxid: number } | null> {
  try {
    const r = await s.getData(path);
    return { data: r.value.data, version: r.value.stat.version, mzxid: zxidNumber(r.value.stat.mzxid) };
  } catch (err) {
    if (errorCode(err) === Exception.NO_NODE) return null;
    throw err;
  }
}

/** A multi-op's outcome: true when applied, false when a version check or existence failed. */
export async function multiOk(p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
    return true;
  } catch (err) {
    const code = errorCode(err);
    if (code === Exception.BAD_VERSION || code === Exception.NO_NODE || code === Exception.NODE_EXISTS) return false;
    throw err;
  }
}

/**
 * The scope's znodes: the listing, then every value read pipelined on one connection (not atomic:
 * ZooKeeper has no range read). `revision` is the server's last zxid at the final reply.
 */
export async function readScope(s: ZkSession, keys: DcsKeys): Promise<ClusterSnapshot> {
  let revision = 0;
  const seen = (zxid: number) => {
    revision = Math.max(revision, zxid);
  };
  const children = await s.getChildren(keys.base.slice(0, -1)).catch((err: unknown) => {
    if (errorCode(err) === Exception.NO_NODE) return { value: [] as string[], zxid: 0 };
    throw err;
  });
  seen(children.zxid);
  const paths: string[] = [];
  const reads: Promise<void>[] = [];
  const kvs: RawKv[] = [];
  const read = (path: string) =>
    s.getData(path).then(
      (r) => {
        seen(r.zxid);
        kvs.push({
          key: path,
          value: r.value.data,
          createRevision: zxidNumber(r.value.stat.czxid),
          modRevision: zxidNumber(r.value.stat.mzxid),
          lease: idString(r.value.stat.ephemeralOwner),
        });
      },
      (err: unknown) => {
        if (errorCode(err) !== Exception.NO_NODE) throw err; // deleted since the listing
      },
    );
  for (const child of children.value) {
    if (child === 'members') {
      reads.push(
        s.getChildren(keys.membersPrefix.slice(0, -1)).then(
          (m) => {
            seen(m.zxid);
            return Promise.all(m.value.map((name) => read(keys.member(name)))).then(() => undefined);
          },
          (err: unknown) => {
            if (errorCode(err) !== Exception.NO_NODE) throw err;
          },
        ),
      );
    } else if (child === 'optime') paths.push(`${keys.base}optime/leader`);
    else paths.push(keys.base + child);
  }
  for (const p of paths) reads.push(read(p));
  await Promise.all(reads);
  return parseCluster(keys, revision, kvs);
}
