/**
 * The Redis store's Lua scripts, by what they do. Each runs atomically, so a check and the write it
 * guards cannot be split by another process. Writes and lock releases announce the cache key in the
 * same script, so no change lands in Redis unannounced, and a release is announced only by the
 * lock's owner. Announcements are best effort (`pcall`): a Redis user without PUBLISH rights (ACLs)
 * must still store tokens; waiters then find them on their recheck timer.
 */
export const REDIS_SCRIPTS = {
  /**
   * Stores a value with a lifetime and announces it.
   * KEYS[1]: the key. ARGV[1]: the value; ARGV[2]: its lifetime, ms; ARGV[3]: the announcement
   * channel; ARGV[4]: the message (the cache key, a hash: nothing secret).
   */
  setAndAnnounce: `
redis.call("set", KEYS[1], ARGV[1], "PX", ARGV[2])
redis.pcall("publish", ARGV[3], ARGV[4])
return 1`,
  /**
   * Releases a lock if the caller still owns it, and announces the release.
   * KEYS[1]: the lock. ARGV[1]: the owner's id; ARGV[2]: the channel; ARGV[3]: the message.
   */
  release: `
if redis.call("get", KEYS[1]) == ARGV[1] then
  redis.call("del", KEYS[1])
  redis.pcall("publish", ARGV[2], ARGV[3])
  return 1
end
return 0`,
  /**
   * Gives a lock a new lifetime if the caller still owns it.
   * KEYS[1]: the lock. ARGV[1]: the owner's id; ARGV[2]: the new lifetime, ms.
   */
  extend: `
if redis.call("get", KEYS[1]) == ARGV[1] then
  return redis.call("pexpire", KEYS[1], ARGV[2])
end
return 0`,
  /**
   * Deletes a key only while it still holds the value the caller read, so a newer token stored
   * meanwhile by another process is kept.
   * KEYS[1]: the key. ARGV[1]: the value read.
   */
  deleteIf: `
if redis.call("get", KEYS[1]) == ARGV[1] then
  return redis.call("del", KEYS[1])
end
return 0`,
} as const;
