/* sqlite_wal.c - the "cairn" VFS; see sqlite_wal.h. */
#include "store/sqlite_wal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The most gathered before it is written out: a commit of 230 frames is
 * about 950 KB. */
#define WAL_BUF ((size_t)4 << 20)

struct sqlite_wal {
    sqlite3_file base;  /* pMethods = &wal_methods */
    sqlite3_file *real; /* the default VFS's file, in the memory after this */
    int fd;             /* the same file, opened again for sqlite_wal_dup_fd */
    bool defer;
    char *buf; /* gathered bytes, for file offset off; WAL_BUF when allocated */
    sqlite3_int64 off;
    size_t len;
};

static sqlite3_vfs *base;
static sqlite3_vfs vfs;
static const sqlite3_io_methods wal_methods;

/* In pieces: the default VFS masks a write's length to 17 bits (its
 * writes are at most a page and a frame header). */
#define WRITE_MAX 65536

static int flush(sqlite_wal *w)
{
    int rc = SQLITE_OK;
    for (size_t done = 0; rc == SQLITE_OK && done < w->len; done += WRITE_MAX) {
        size_t n = w->len - done < WRITE_MAX ? w->len - done : WRITE_MAX;
        rc =
            w->real->pMethods->xWrite(w->real, w->buf + done, (int)n, w->off + (sqlite3_int64)done);
    }
    w->len = 0;
    return rc;
}

static int wal_close(sqlite3_file *f)
{
    sqlite_wal *w = (sqlite_wal *)f;
    int rc = flush(w);
    int rc2 = w->real->pMethods->xClose(w->real);
    close(w->fd);
    free(w->buf);
    return rc ? rc : rc2;
}

static int wal_read(sqlite3_file *f, void *p, int amt, sqlite3_int64 off)
{
    sqlite_wal *w = (sqlite_wal *)f;
    if (w->len && off < w->off + (sqlite3_int64)w->len && w->off < off + amt) {
        int rc = flush(w);
        if (rc) return rc;
    }
    return w->real->pMethods->xRead(w->real, p, amt, off);
}

static int wal_write(sqlite3_file *f, const void *p, int amt, sqlite3_int64 off)
{
    sqlite_wal *w = (sqlite_wal *)f;
    if (!w->defer) return w->real->pMethods->xWrite(w->real, p, amt, off);
    if (w->len && w->off + (sqlite3_int64)w->len == off && w->len + (size_t)amt <= WAL_BUF) {
        memcpy(w->buf + w->len, p, (size_t)amt);
        w->len += (size_t)amt;
        return SQLITE_OK;
    }
    int rc = flush(w);
    if (rc) return rc;
    if (!w->buf) w->buf = malloc(WAL_BUF);
    if (!w->buf || (size_t)amt > WRITE_MAX) return w->real->pMethods->xWrite(w->real, p, amt, off);
    memcpy(w->buf, p, (size_t)amt);
    w->off = off;
    w->len = (size_t)amt;
    return SQLITE_OK;
}

static int wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    sqlite_wal *w = (sqlite_wal *)f;
    int rc = flush(w);
    return rc ? rc : w->real->pMethods->xTruncate(w->real, size);
}

static int wal_sync(sqlite3_file *f, int flags)
{
    sqlite_wal *w = (sqlite_wal *)f;
    int rc = flush(w);
    if (rc || w->defer) return rc;
    return w->real->pMethods->xSync(w->real, flags);
}

static int wal_size(sqlite3_file *f, sqlite3_int64 *size)
{
    sqlite_wal *w = (sqlite_wal *)f;
    int rc = flush(w);
    return rc ? rc : w->real->pMethods->xFileSize(w->real, size);
}

static int wal_lock(sqlite3_file *f, int level)
{
    sqlite3_file *r = ((sqlite_wal *)f)->real;
    return r->pMethods->xLock(r, level);
}

static int wal_unlock(sqlite3_file *f, int level)
{
    sqlite3_file *r = ((sqlite_wal *)f)->real;
    return r->pMethods->xUnlock(r, level);
}

static int wal_reserved(sqlite3_file *f, int *out)
{
    sqlite3_file *r = ((sqlite_wal *)f)->real;
    return r->pMethods->xCheckReservedLock(r, out);
}

static int wal_control(sqlite3_file *f, int op, void *arg)
{
    sqlite_wal *w = (sqlite_wal *)f;
    int rc = flush(w);
    return rc ? rc : w->real->pMethods->xFileControl(w->real, op, arg);
}

static int wal_sector(sqlite3_file *f)
{
    sqlite3_file *r = ((sqlite_wal *)f)->real;
    return r->pMethods->xSectorSize(r);
}

static int wal_device(sqlite3_file *f)
{
    sqlite3_file *r = ((sqlite_wal *)f)->real;
    return r->pMethods->xDeviceCharacteristics(r);
}

/* Version 1: a WAL file has no shared memory and is never memory-mapped;
 * those belong to the database file. */
static const sqlite3_io_methods wal_methods = {
    .iVersion = 1,
    .xClose = wal_close,
    .xRead = wal_read,
    .xWrite = wal_write,
    .xTruncate = wal_truncate,
    .xSync = wal_sync,
    .xFileSize = wal_size,
    .xLock = wal_lock,
    .xUnlock = wal_unlock,
    .xCheckReservedLock = wal_reserved,
    .xFileControl = wal_control,
    .xSectorSize = wal_sector,
    .xDeviceCharacteristics = wal_device,
};

static int vfs_open(sqlite3_vfs *v, sqlite3_filename name, sqlite3_file *f, int flags,
                    int *out_flags)
{
    (void)v;
    if (!(flags & SQLITE_OPEN_WAL) || !name) return base->xOpen(base, name, f, flags, out_flags);
    sqlite_wal *w = (sqlite_wal *)f;
    memset(w, 0, sizeof *w);
    w->real = (sqlite3_file *)(w + 1);
    int rc = base->xOpen(base, name, w->real, flags, out_flags);
    if (rc != SQLITE_OK) return rc;
    w->fd = open(name, O_RDONLY | O_CLOEXEC);
    if (w->fd < 0) {
        w->real->pMethods->xClose(w->real);
        return SQLITE_CANTOPEN;
    }
    w->base.pMethods = &wal_methods;
    return SQLITE_OK;
}

/* The rest is the default VFS's, called with its own object. */
static int vfs_delete(sqlite3_vfs *v, const char *name, int dir_sync)
{
    (void)v;
    return base->xDelete(base, name, dir_sync);
}

static int vfs_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    (void)v;
    return base->xAccess(base, name, flags, out);
}

static int vfs_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
    (void)v;
    return base->xFullPathname(base, name, n, out);
}

static int vfs_randomness(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return base->xRandomness(base, n, out);
}

static int vfs_sleep(sqlite3_vfs *v, int us)
{
    (void)v;
    return base->xSleep(base, us);
}

static int vfs_time(sqlite3_vfs *v, double *out)
{
    (void)v;
    return base->xCurrentTime(base, out);
}

static int vfs_last_error(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return base->xGetLastError(base, n, out);
}

static int vfs_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    (void)v;
    return base->xCurrentTimeInt64(base, out);
}

int sqlite_wal_register(void)
{
    if (base) return SQLITE_OK;
    sqlite3_vfs *b = sqlite3_vfs_find(NULL);
    if (!b || b->iVersion < 2) return SQLITE_ERROR;
    vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(sqlite_wal) + b->szOsFile,
        .mxPathname = b->mxPathname,
        .zName = SQLITE_WAL_VFS,
        .xOpen = vfs_open,
        .xDelete = vfs_delete,
        .xAccess = vfs_access,
        .xFullPathname = vfs_full_pathname,
        .xDlOpen = b->xDlOpen,
        .xDlError = b->xDlError,
        .xDlSym = b->xDlSym,
        .xDlClose = b->xDlClose,
        .xRandomness = vfs_randomness,
        .xSleep = vfs_sleep,
        .xCurrentTime = vfs_time,
        .xGetLastError = vfs_last_error,
        .xCurrentTimeInt64 = vfs_time64,
    };
    base = b;
    return sqlite3_vfs_register(&vfs, 0);
}

sqlite_wal *sqlite_wal_of(sqlite3 *db)
{
    sqlite3_file *f = NULL;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) != SQLITE_OK || !f ||
        f->pMethods != &wal_methods)
        return NULL;
    return (sqlite_wal *)f;
}

void sqlite_wal_defer(sqlite_wal *w, bool on)
{
    if (!on) flush(w); /* nothing is gathered outside a commit; be sure */
    w->defer = on;
}

int sqlite_wal_dup_fd(const sqlite_wal *w)
{
    return fcntl(w->fd, F_DUPFD_CLOEXEC, 0);
}

int sqlite_wal_sync(int fd)
{
    return fdatasync(fd);
}
