/* sqlite_wal.h - the VFS under the embedded store: a commit's WAL frames
 * written in one go, and its fsync taken off the writing thread.
 *
 * Owns: the "cairn" SQLite VFS, a thin layer over the default one. Every
 * file but a write-ahead log is the default VFS's own object, untouched.
 * A WAL file gets a wrapper that, once sqlite_wal_defer() turns it on for
 * the one connection that writes,
 *  - gathers the frames SQLite writes and hands them to the kernel in
 *    64 KiB writes when SQLite syncs the log at the end of the commit
 *    (SQLite writes each frame as a 24-byte header and a page, two system
 *    calls that each straddle page-cache pages: 460 calls for a 230-page
 *    commit, against 15);
 *  - skips that sync's fsync: the caller makes the commit durable with
 *    sqlite_wal_sync(), on any thread, before it reports the commit done.
 * Deferral needs synchronous=FULL, so that SQLite syncs the log at the end
 * of every commit, before other connections can see it: that sync is when
 * the gathered frames reach the file. A checkpoint must not run with
 * deferral on (it copies frames into the database file, and they must be
 * durable first); turn it off around one. */
#ifndef CAIRN_SQLITE_WAL_H
#define CAIRN_SQLITE_WAL_H

#include <sqlite3.h>
#include <stdbool.h>

#define SQLITE_WAL_VFS "cairn"

typedef struct sqlite_wal sqlite_wal;

/* Registers the VFS (not as the default); idempotent, not thread-safe:
 * call it from SQLite's one-time setup. */
int sqlite_wal_register(void);
/* The open WAL file of db's main database, or NULL (not in WAL mode, or
 * not opened through this VFS). */
sqlite_wal *sqlite_wal_of(sqlite3 *db);
void sqlite_wal_defer(sqlite_wal *w, bool on);
/* A descriptor of the log file for sqlite_wal_sync, the caller's to close,
 * or -1 with errno set. */
int sqlite_wal_dup_fd(const sqlite_wal *w);
/* fdatasync of the log: every frame written before the call is durable
 * after it. Safe on any thread. 0 or -1 with errno set. */
int sqlite_wal_sync(int fd);

#endif
